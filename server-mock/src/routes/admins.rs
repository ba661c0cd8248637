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

use crate::db::ConnExt;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::{create_magic_link, AdminSource, Auth, Subject};
use crate::error::{ApiError, ApiResult, Validation};
use crate::extract::Json;
use crate::mail::{purpose, Mail};
use crate::respond::{respond, Reply};
use crate::routes::common::{reinstate, Reinstatable};
use crate::state::AppState;
use crate::tenancy::Tenant;
use crate::util::{self, is_valid_email};

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admins", get(list).post(create))
        .route("/admins/{id}/invite", post(invite))
        .route("/admins/{id}/revoke", post(revoke))
        .route("/admins/{id}/reinstate", post(reinstate::<Admin>))
}

/// An admin row.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Email (lower-cased).
    pub email: String,
    /// Name.
    pub name: String,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
    /// Activated.
    pub activated_at: Option<String>,
    /// Revoked.
    pub revoked_at: Option<String>,
}

const COLS: &str = "id, tenant_id, email, name, created_at, updated_at, activated_at, revoked_at";

impl Admin {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Admin> {
        Ok(Admin {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            email: r.get(2)?,
            name: r.get(3)?,
            created_at: r.get(4)?,
            updated_at: r.get(5)?,
            activated_at: r.get(6)?,
            revoked_at: r.get(7)?,
        })
    }
    /// API row.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("tenantId".into(), json!(self.tenant_id));
        m.insert("email".into(), json!(self.email));
        m.insert("name".into(), json!(self.name));
        m.insert("createdAt".into(), json!(self.created_at));
        m.insert("updatedAt".into(), json!(self.updated_at));
        m.insert("activatedAt".into(), json!(self.activated_at));
        m.insert("revokedAt".into(), json!(self.revoked_at));
        m
    }
    /// `{id, email, name}`.
    pub fn summary_json(&self) -> Value {
        json!({"id": self.id, "email": self.email, "name": self.name})
    }
}

/// Loads an admin of `tenant_id`.
pub fn load_admin(c: &Connection, tenant_id: &str, id: &str) -> ApiResult<Option<Admin>> {
    Ok(c.row(
        &format!("SELECT {COLS} FROM admins WHERE tenant_id = ?1 AND id = ?2"),
        params![tenant_id, id],
        Admin::from_row,
    )
    .optional()?)
}

/// Loads an admin by (lower-cased) email.
pub fn load_admin_by_email(
    c: &Connection,
    tenant_id: &str,
    email: &str,
) -> ApiResult<Option<Admin>> {
    Ok(c.row(
        &format!("SELECT {COLS} FROM admins WHERE tenant_id = ?1 AND email = ?2"),
        params![tenant_id, email],
        Admin::from_row,
    )
    .optional()?)
}

/// Creates an `admin_invite` magic link and mails it.
pub fn send_admin_invite(
    c: &Connection,
    state: &AppState,
    tenant: &Tenant,
    admin: &Admin,
) -> ApiResult<()> {
    let (token, _) = create_magic_link(
        c,
        &tenant.id,
        purpose::ADMIN_INVITE,
        &Subject::Admin(admin.id.clone()),
        state,
    )?;
    let url = state.mailer.magic_url(tenant, &token);
    state.mailer.send(
        c,
        tenant,
        Mail {
            to: &admin.email,
            subject: "You've been added as an admin".into(),
            body: format!(
                "Hi {},\n\nYou have been added as an admin of the partner program. Open this link to sign in (valid for 15 minutes):\n\n{url}\n",
                admin.name
            ),
            purpose: purpose::ADMIN_INVITE,
            token: Some(&token),
            url: Some(&url),
        },
        &state.now_iso(),
    )
}

async fn list(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
) -> ApiResult<axum::Json<Value>> {
    auth.require_admin()?;
    let admins = state
        .db
        .call(move |c| {
            let mut s = c.prepare(&format!(
                "SELECT {COLS} FROM admins WHERE tenant_id = ?1 ORDER BY created_at, id"
            ))?;
            let rows = s
                .query_map([&tenant.id], Admin::from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    let admins: Vec<Value> = admins.iter().map(|a| Value::Object(a.to_json())).collect();
    Ok(axum::Json(json!({ "admins": admins })))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CreateBody {
    email: String,
    name: String,
}

async fn create(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<CreateBody>,
) -> ApiResult<Reply<Value>> {
    auth.require_admin()?;
    let mut v = Validation::new();
    let email = body.email.trim().to_lowercase();
    if !is_valid_email(&email) {
        v.push("email", "Invalid email");
    }
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        v.push("name", "must be 1-200 characters");
    }
    v.finish_body()?;
    let st = state.clone();
    respond(&state, StatusCode::CREATED, move |c| {
            let tx = c.savepoint()?;
            if load_admin_by_email(&tx, &tenant.id, &email)?.is_some() {
                return Err(ApiError::conflict("email_taken"));
            }
            let id = util::new_id();
            let now = st.now_iso();
            tx.exec(
                "INSERT INTO admins (id, tenant_id, email, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![id, tenant.id, email, name, now],
            )?;
            let admin = load_admin(&tx, &tenant.id, &id)?.ok_or_else(ApiError::internal)?;
            send_admin_invite(&tx, &st, &tenant, &admin)?;
            tx.commit()?;
            let mut m = admin.to_json();
            m.insert("invited".into(), json!(true));
            Ok(Value::Object(m))
        })
        .await
}

async fn invite(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<Value>> {
    auth.require_admin()?;
    let st = state.clone();
    respond(&state, StatusCode::OK, move |c| {
        let tx = c.savepoint()?;
        let a = load_admin(&tx, &tenant.id, &id)?.ok_or_else(ApiError::not_found)?;
        if a.activated_at.is_some() {
            return Err(ApiError::conflict("already_activated"));
        }
        if a.revoked_at.is_some() {
            return Err(ApiError::conflict("admin_revoked"));
        }
        send_admin_invite(&tx, &st, &tenant, &a)?;
        tx.commit()?;
        Ok(json!({"ok": true}))
    })
    .await
}

async fn revoke(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<Value>> {
    let src = auth.require_admin()?.clone();
    let st = state.clone();
    respond(&state, StatusCode::OK, move |c| {
        let tx = c.savepoint()?;
        let a = load_admin(&tx, &tenant.id, &id)?.ok_or_else(ApiError::not_found)?;
        if a.revoked_at.is_some() {
            return Err(ApiError::conflict("already_revoked"));
        }
        if let AdminSource::Session { admin, .. } = &src {
            if admin.id == a.id {
                return Err(ApiError::bad_request("cannot_revoke_self")
                    .detail("an admin cannot revoke their own access"));
            }
        }
        if a.activated_at.is_some() {
            let others: i64 = tx.row(
                "SELECT COUNT(*) FROM admins WHERE tenant_id = ?1 AND id != ?2
                     AND activated_at IS NOT NULL AND revoked_at IS NULL",
                params![tenant.id, a.id],
                |r| r.get(0),
            )?;
            if others == 0 {
                return Err(ApiError::conflict("cannot_revoke_last_active_admin"));
            }
        }
        let now = st.now_iso();
        tx.exec(
            "UPDATE admins SET revoked_at = ?1, updated_at = ?1 WHERE id = ?2",
            params![now, a.id],
        )?;
        tx.exec(
            "UPDATE sessions SET revoked_at = ?1 WHERE admin_id = ?2 AND revoked_at IS NULL",
            params![now, a.id],
        )?;
        tx.commit()?;
        Ok(json!({"ok": true, "revokedAt": now}))
    })
    .await
}

impl Reinstatable for Admin {
    const REINSTATE_SQL: &'static str =
        "UPDATE admins SET revoked_at = NULL, updated_at = ?1 WHERE id = ?2";
    fn load(c: &Connection, tenant_id: &str, id: &str) -> ApiResult<Option<Self>> {
        load_admin(c, tenant_id, id)
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}
