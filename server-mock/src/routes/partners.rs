//! Partners (API.md §3.1): create, list (keyset), get, \[EXT\] by-external-id, invite,
//! revoke, reinstate. The lifecycle is in [`crate::domain::partners`], the SQL in
//! [`crate::store::partners`], the row and summary shapes in [`crate::wire::partners`].
//!
//! Choices where API.md is silent: a revoked partner cannot be invited (409
//! `partner_revoked`); reinstating does not bring back revoked keys or sessions; the
//! revoke notification is a dev-mailbox message with purpose `partner_revoked`;
//! program grants made because `programIds` was omitted have `grant_source = 'all'`,
//! explicit ones `'manual'`.
//!
//! `commissionSnapshot` of `POST /partners` is validated and written with the
//! commission-snapshot functions of the programs module, in `create`'s one job.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Scope};
use crate::domain::partners::{self as lifecycle, NewPartnerInput};
use crate::error::{ApiError, ApiResult, ErrorBody, Validation};
use crate::extract::{Json, Query};
use crate::pagination;
use crate::respond::{self, respond, Reply};
use crate::state::AppState;
use crate::store;
use crate::tenancy::Tenant;
use crate::util::is_valid_email;
use crate::wire::partners::PartnerRow;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one))
        .routes(routes!(by_external_id))
        .routes(routes!(invite))
        .routes(routes!(revoke))
        .routes(routes!(reinstate))
}

/// `POST /partners` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePartner {
    /// Email (trimmed, lower-cased; unique per tenant).
    #[schema(format = "email", required = true)]
    pub email: Option<String>,
    /// Display name, 1–200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, required = true)]
    pub name: Option<String>,
    /// Free-form metadata object (default `{}`).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Mail an invite (default `true`; the partner stays pending until it is used) or
    /// create the partner active.
    pub send_invite: Option<bool>,
    /// Programs to grant (unknown ids → 400 `unknown_campaign_ids`); omitted = every
    /// program.
    pub program_ids: Option<Vec<String>>,
    /// \[EXT\] the caller's own id for the partner, 1–255 characters, unique per tenant.
    /// Ignored with extensions off.
    #[schema(min_length = 1, max_length = 255, extensions(("x-extension" = json!(true))))]
    pub external_id: Option<String>,
    /// The partner's own commission terms (a commission snapshot, API.md §3.2).
    #[schema(value_type = Option<Object>)]
    pub commission_snapshot: Option<Value>,
}

/// `POST /partners` answer: the row plus whether an invite was mailed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPartner {
    /// The new partner.
    #[serde(flatten)]
    pub partner: PartnerRow,
    /// True when an invite was mailed.
    pub invited: bool,
}

/// Creates a partner (admin, or a scoped key with `partners:write`).
#[utoipa::path(post, path = "/partners", operation_id = "createPartner", tag = "partners", request_body = CreatePartner,
    responses((status = 201, description = "Created", body = CreatedPartner),
        (status = 400, description = "unknown_campaign_ids", body = ErrorBody),
        (status = 409, description = "email_taken, external_id_taken", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<CreatePartner>,
) -> ApiResult<Reply<CreatedPartner>> {
    auth.require_scope(Scope::PartnersWrite)?;
    let ext = state.ext();
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
    let metadata = match body.metadata {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(Value::Object(m)) => Value::Object(m),
        Some(_) => {
            v.push("metadata", "must be an object");
            Value::Object(Default::default())
        }
    };
    let external_id = if ext { body.external_id } else { None };
    if let Some(x) = &external_id {
        if x.is_empty() || x.chars().count() > 255 {
            v.push("externalId", "must be 1-255 characters");
        }
    }
    v.finish_body()?;
    let snapshot = match &body.commission_snapshot {
        None | Some(Value::Null) => None,
        Some(s) => Some(crate::domain::snapshots::parse_value(
            s,
            "commissionSnapshot.",
        )?),
    };
    let input = NewPartnerInput {
        email: email.unwrap_or_default(),
        name: name.unwrap_or_default(),
        metadata,
        external_id,
        send_invite: body.send_invite.unwrap_or(true),
        program_ids: body.program_ids,
    };
    let invited = input.send_invite;
    let st = state.clone();
    respond(&state, StatusCode::CREATED, move |c| {
        let partner = lifecycle::create(c, &st, &tenant, input)?;
        if let Some(s) = &snapshot {
            crate::domain::snapshots::put(c, &tenant.id, &partner.id, s, &st.now_iso())?;
        }
        Ok(CreatedPartner {
            partner: PartnerRow::new(partner, ext),
            invited,
        })
    })
    .await
}

/// `GET /partners` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PartnerListQuery {
    /// Page size, 1–200 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Only the partner with this email (case-insensitive).
    pub email: Option<String>,
}

/// `GET /partners` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerList {
    /// The page, newest first.
    pub partners: Vec<PartnerRow>,
    /// Cursor of the next page, `null` on the last.
    pub next_cursor: Option<String>,
}

/// `limit` of a list query: an integer in `[min, max]`, `default` when absent or empty;
/// anything else → 400 `invalid_query` naming the field.
fn limit_in(raw: Option<&str>, min: i64, max: i64, default: i64) -> ApiResult<i64> {
    match raw.map(str::trim) {
        None | Some("") => Ok(default),
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(_) => Err(ApiError::query_field(
                "limit",
                &format!("must be between {min} and {max}"),
            )),
            Err(_) => Err(ApiError::query_field("limit", "must be an integer")),
        },
    }
}

/// Lists partners, newest first, keyset-paginated (admin, or `partners:read`).
#[utoipa::path(get, path = "/partners", operation_id = "listPartners", tag = "partners", params(PartnerListQuery),
    responses((status = 200, description = "A page of partners", body = PartnerList),
        (status = 400, description = "invalid_cursor", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Query(q): Query<PartnerListQuery>,
) -> ApiResult<Reply<PartnerList>> {
    auth.require_scope(Scope::PartnersRead)?;
    let limit = limit_in(q.limit.as_deref(), 1, 200, 100)? as usize;
    let cursor = q
        .cursor
        .filter(|c| !c.is_empty())
        .map(|c| pagination::decode(&c))
        .transpose()?;
    let email = q
        .email
        .filter(|e| !e.is_empty())
        .map(|e| e.trim().to_lowercase());
    let ext = state.ext();
    respond::ok(&state, move |c| {
        let after = cursor
            .as_ref()
            .map(|cur| (cur.ts.as_str(), cur.id.as_str()));
        let rows = store::partners::list_page(c, &tenant.id, email.as_deref(), after, limit + 1)?;
        let (rows, next) = pagination::page(rows, limit, |p| (p.created_at.clone(), p.id.clone()));
        Ok(PartnerList {
            partners: rows.into_iter().map(|p| PartnerRow::new(p, ext)).collect(),
            next_cursor: next,
        })
    })
    .await
}

/// One partner (admin, or the partner itself).
#[utoipa::path(get, path = "/partners/{id}", tag = "partners",
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 200, description = "The partner", body = PartnerRow),
        (status = 404, description = "not_found", body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<PartnerRow>> {
    auth.require_admin_or_partner(&id)?;
    let ext = state.ext();
    respond::ok(&state, move |c| {
        let p = store::partners::get(c, &tenant.id, &id)?.ok_or_else(ApiError::not_found)?;
        Ok(PartnerRow::new(p, ext))
    })
    .await
}

/// \[EXT\] The partner with an external id (admin, or `partners:read`).
#[utoipa::path(get, path = "/partners/by-external-id/{external_id}", tag = "partners",
    params(("external_id" = String, Path, description = "The caller's own id for the partner")),
    extensions(("x-extension" = json!(true))),
    responses((status = 200, description = "The partner", body = PartnerRow),
        (status = 404, description = "not_found", body = ErrorBody)))]
async fn by_external_id(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(external_id): Path<String>,
) -> ApiResult<Reply<PartnerRow>> {
    if !state.ext() {
        return Err(ApiError::route_not_found());
    }
    auth.require_scope(Scope::PartnersRead)?;
    respond::ok(&state, move |c| {
        let p = store::partners::get_by_external_id(c, &tenant.id, &external_id)?
            .ok_or_else(ApiError::not_found)?;
        Ok(PartnerRow::new(p, true))
    })
    .await
}

/// Mails a new invite to a pending partner (admin, or `partners:write`).
#[utoipa::path(post, path = "/partners/{id}/invite", operation_id = "invitePartner", tag = "partners",
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 200, description = "Invite mailed", body = crate::wire::Ok),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "already_activated, partner_revoked", body = ErrorBody)))]
async fn invite(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<crate::wire::Ok>> {
    auth.require_scope(Scope::PartnersWrite)?;
    let st = state.clone();
    respond::ok(&state, move |c| {
        lifecycle::invite(c, &st, &tenant, &id)?;
        Ok(crate::wire::Ok::TRUE)
    })
    .await
}

/// `POST /partners/{id}/revoke` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokePartner {
    /// Why (at most 500 characters); included in the notification.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// Mail the partner (default `true`).
    pub notify: Option<bool>,
}

/// `POST /partners/{id}/revoke` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevokedPartner {
    /// Always `true`.
    pub ok: bool,
    /// When the partner was revoked (ISO 8601).
    pub revoked_at: String,
    /// Whether the partner was mailed.
    pub notified: bool,
    /// Always `null` (the dev mailbox does not fail).
    #[schema(value_type = Option<String>)]
    pub notify_error: Option<String>,
}

/// Revokes a partner, its keys and sessions at once (admin, or `partners:write`).
#[utoipa::path(post, path = "/partners/{id}/revoke", operation_id = "revokePartner", tag = "partners", request_body = RevokePartner,
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 200, description = "Revoked", body = RevokedPartner),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "already_revoked", body = ErrorBody)))]
async fn revoke(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<RevokePartner>,
) -> ApiResult<Reply<RevokedPartner>> {
    auth.require_scope(Scope::PartnersWrite)?;
    if let Some(r) = &body.reason {
        if r.chars().count() > 500 {
            return Err(ApiError::body_field(
                "reason",
                "must be at most 500 characters",
            ));
        }
    }
    let notify = body.notify.unwrap_or(true);
    let reason = body.reason;
    let st = state.clone();
    respond::ok(&state, move |c| {
        let now = st.now_iso();
        lifecycle::revoke_checked(c, &st, &tenant, &id, reason.as_deref(), notify, &now)?;
        Ok(RevokedPartner {
            ok: true,
            revoked_at: now,
            notified: notify,
            notify_error: None,
        })
    })
    .await
}

/// Clears a partner's revocation; its keys and sessions stay revoked (admin only).
#[utoipa::path(post, path = "/partners/{id}/reinstate", operation_id = "reinstatePartner", tag = "partners",
    params(("id" = String, Path, description = "Partner id")),
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
