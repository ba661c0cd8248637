//! Admins (API.md §3.8): list, create (+ invite mail), invite, revoke, reinstate.
//!
//! Row: `{id, tenantId, email, name, createdAt, updatedAt, activatedAt|null,
//! revokedAt|null}`. `POST /admins` → 201 row + `"invited":true`; invite/reinstate →
//! `{"ok":true}`; revoke → `{"ok":true,"revokedAt"}` and ends the admin's sessions.
//! Statuses (API.md names only the codes): 404 `not_found`; 409 `email_taken`,
//! `already_revoked`, `not_revoked`, `already_activated`, `admin_revoked` (invite of a
//! revoked admin), `cannot_revoke_last_active_admin` (the target is the tenant's only
//! activated, non-revoked admin; the bootstrap key does not count); 400
//! `cannot_revoke_self` (an admin session revoking its own admin: a request that can never
//! succeed).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AdminSource, Auth};
use crate::domain::admins as lifecycle;
use crate::error::{ApiResult, ErrorBody, Validation};
use crate::extract::Json;
use crate::respond::{self, respond, Reply};
use crate::state::AppState;
use crate::store;
use crate::tenancy::Tenant;
use crate::util::is_valid_email;
use crate::wire::admins::AdminRow;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(invite))
        .routes(routes!(revoke))
        .routes(routes!(reinstate))
}

/// `GET /admins` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminList {
    /// Every admin of the tenant, oldest first.
    pub admins: Vec<AdminRow>,
}

/// Lists the tenant's admins (admin only).
#[utoipa::path(get, path = "/admins", operation_id = "listAdmins", tag = "admins",
    responses((status = 200, description = "Every admin, oldest first", body = AdminList)))]
async fn list(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
) -> ApiResult<Reply<AdminList>> {
    auth.require_admin()?;
    respond::ok(&state, move |c| {
        let admins = store::admins::list(c, &tenant.id)?;
        Ok(AdminList {
            admins: admins.into_iter().map(AdminRow::from).collect(),
        })
    })
    .await
}

/// `POST /admins` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAdmin {
    /// Email (trimmed, lower-cased; unique per tenant).
    #[schema(format = "email", required = true)]
    pub email: Option<String>,
    /// Display name, 1–200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, required = true)]
    pub name: Option<String>,
}

/// `POST /admins` answer: the row plus `invited: true`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedAdmin {
    /// The new (pending) admin.
    #[serde(flatten)]
    pub admin: AdminRow,
    /// Always `true`: the invite was mailed.
    pub invited: bool,
}

/// Creates a pending admin and mails an invite (admin only).
#[utoipa::path(post, path = "/admins", operation_id = "createAdmin", tag = "admins", request_body = CreateAdmin,
    responses((status = 201, description = "Created and invited", body = CreatedAdmin),
        (status = 409, description = "email_taken", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<CreateAdmin>,
) -> ApiResult<Reply<CreatedAdmin>> {
    auth.require_admin()?;
    let mut v = Validation::new();
    let email = body.email.map(|e| e.trim().to_lowercase());
    match &email {
        None => v.push("email", "Required"),
        Some(e) if !is_valid_email(e) => v.push("email", "Invalid email"),
        Some(_) => {}
    }
    let name = body.name.map(|n| n.trim().to_owned());
    match &name {
        None => v.push("name", "Required"),
        Some(n) if n.is_empty() || n.chars().count() > 200 => {
            v.push("name", "must be 1-200 characters")
        }
        Some(_) => {}
    }
    v.finish_body()?;
    let (email, name) = (email.unwrap_or_default(), name.unwrap_or_default());
    let st = state.clone();
    respond(&state, StatusCode::CREATED, move |c| {
        let admin = lifecycle::create(c, &st, &tenant, &email, &name)?;
        Ok(CreatedAdmin {
            admin: admin.into(),
            invited: true,
        })
    })
    .await
}

/// Mails a new invite to a pending admin (admin only).
#[utoipa::path(post, path = "/admins/{id}/invite", operation_id = "inviteAdmin", tag = "admins",
    params(("id" = String, Path, description = "Admin id")),
    responses((status = 200, description = "Invite mailed", body = crate::wire::Ok),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "already_activated, admin_revoked", body = ErrorBody)))]
async fn invite(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<crate::wire::Ok>> {
    auth.require_admin()?;
    let st = state.clone();
    respond::ok(&state, move |c| {
        lifecycle::invite(c, &st, &tenant, &id)?;
        Ok(crate::wire::Ok::TRUE)
    })
    .await
}

/// `POST /admins/{id}/revoke` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevokedAdmin {
    /// Always `true`.
    pub ok: bool,
    /// When the admin was revoked (ISO 8601).
    pub revoked_at: String,
}

/// Revokes an admin and ends its sessions (admin only).
#[utoipa::path(post, path = "/admins/{id}/revoke", operation_id = "revokeAdmin", tag = "admins",
    params(("id" = String, Path, description = "Admin id")),
    responses((status = 200, description = "Revoked", body = RevokedAdmin),
        (status = 400, description = "cannot_revoke_self", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "already_revoked, cannot_revoke_last_active_admin", body = ErrorBody)))]
async fn revoke(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<RevokedAdmin>> {
    let caller = match auth.require_admin()? {
        AdminSource::Session { admin, .. } => Some(admin.id.clone()),
        _ => None,
    };
    let st = state.clone();
    respond::ok(&state, move |c| {
        let now = st.now_iso();
        lifecycle::revoke_checked(c, &st.credentials, &tenant.id, &id, caller.as_deref(), &now)?;
        Ok(RevokedAdmin {
            ok: true,
            revoked_at: now,
        })
    })
    .await
}

/// Clears an admin's revocation; its sessions stay revoked (admin only).
#[utoipa::path(post, path = "/admins/{id}/reinstate", operation_id = "reinstateAdmin", tag = "admins",
    params(("id" = String, Path, description = "Admin id")),
    responses((status = 200, description = "Reinstated", body = crate::wire::Ok),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "not_revoked", body = ErrorBody)))]
async fn reinstate(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<crate::wire::Ok>> {
    auth.require_admin()?;
    let st = state.clone();
    respond::ok(&state, move |c| {
        lifecycle::reinstate(c, &st.credentials, &tenant.id, &id, &st.now_iso())?;
        Ok(crate::wire::Ok::TRUE)
    })
    .await
}
