//! Sign-in and identity routes (API.md §2.1): `/auth/signin`, `/auth/magic/verify`,
//! `/auth/signout`, `/auth/whoami`, `/auth/introspect`.
//!
//! Sign-in mails a link to an activated, non-revoked admin with that email, else to an
//! activated, non-revoked partner; otherwise nothing happens (same answer either way).
//! Verify consumes the token only when it succeeds (a 403/404 leaves it unused, which
//! changes nothing since those states do not heal within 15 minutes in practice).

use crate::db::ConnExt;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use rusqlite::{params, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{
    create_magic_link, create_session, session_clear_cookie, session_cookie, session_set_cookie,
    AdminSource, Auth, Principal, Subject,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::mail::{purpose, Mail};
use crate::routes::admins::load_admin_by_email;
use crate::routes::partners::{load_partner, Partner, PARTNER_COLS};
use crate::state::AppState;
use crate::tenancy::Tenant;
use crate::util;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/signin", post(signin))
        .route("/auth/magic/verify", post(verify))
        .route("/auth/signout", post(signout))
        .route("/auth/whoami", get(whoami))
        .route("/auth/introspect", get(introspect))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SigninBody {
    email: String,
}

async fn signin(
    State(state): State<AppState>,
    tenant: Tenant,
    Json(body): Json<SigninBody>,
) -> ApiResult<axum::Json<Value>> {
    let email = body.email.trim().to_lowercase();
    if !util::is_valid_email(&email) {
        return Err(ApiError::body_field("email", "Invalid email"));
    }
    let st = state.clone();
    state
        .db
        .call(move |c| {
            let tx = c.savepoint()?;
            let now = st.now_iso();
            let admin = load_admin_by_email(&tx, &tenant.id, &email)?
                .filter(|a| a.activated_at.is_some() && a.revoked_at.is_none());
            let (subject, purpose, to, name) = if let Some(a) = admin {
                (Subject::Admin(a.id), purpose::ADMIN_SIGNIN, a.email, a.name)
            } else {
                let p: Option<Partner> = tx
                    .query_row(
                        &format!("SELECT {PARTNER_COLS} FROM partners WHERE tenant_id = ?1 AND email = ?2"),
                        params![tenant.id, email],
                        Partner::from_row,
                    )
                    .optional()?;
                match p.filter(|p| p.activated_at.is_some() && p.revoked_at.is_none()) {
                    Some(p) => (Subject::Partner(p.id), purpose::PARTNER_SIGNIN, p.email, p.name),
                    None => return Ok(()),
                }
            };
            let (token, _) = create_magic_link(&tx, &tenant.id, purpose, &subject, &st)?;
            let url = st.mailer.magic_url(&tenant, &token);
            st.mailer.send(
                &tx,
                &tenant,
                Mail {
                    to: &to,
                    subject: "Your sign-in link".into(),
                    body: format!(
                        "Hi {name},\n\nOpen this link to sign in (valid for 15 minutes, single use):\n\n{url}\n"
                    ),
                    purpose,
                    token: Some(&token),
                    url: Some(&url),
                },
                &now,
            )?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(axum::Json(json!({"ok": true})))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct VerifyBody {
    token: String,
}

async fn verify(
    State(state): State<AppState>,
    tenant: Tenant,
    Json(body): Json<VerifyBody>,
) -> ApiResult<Response> {
    let st = state.clone();
    let token = body.token;
    let (session, out) = state
        .db
        .call(move |c| {
            let tx = c.savepoint()?;
            let now = st.now_iso();
            let invalid = || {
                ApiError::bad_request("invalid_or_expired_token")
                    .detail("the sign-in link is invalid, expired or already used")
            };
            let row: Option<(String, Option<String>, Option<String>, String, Option<String>)> = tx
                .query_row(
                    "SELECT id, admin_id, partner_id, expires_at, used_at FROM magic_links
                     WHERE token_hash = ?1 AND tenant_id = ?2",
                    params![util::sha256_hex(&token), tenant.id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let Some((link_id, admin_id, partner_id, expires_at, used_at)) = row else {
                return Err(invalid());
            };
            if used_at.is_some() || expires_at <= now {
                return Err(invalid());
            }
            let (subject, body) = if let Some(aid) = admin_id {
                let a = crate::routes::admins::load_admin(&tx, &tenant.id, &aid)?
                    .ok_or_else(|| ApiError::not_found_code("admin_not_found"))?;
                if a.revoked_at.is_some() {
                    return Err(ApiError::forbidden_code("admin_revoked"));
                }
                if a.activated_at.is_none() {
                    tx.exec(
                        "UPDATE admins SET activated_at = ?1, updated_at = ?1 WHERE id = ?2",
                        params![now, a.id],
                    )?;
                }
                (
                    Subject::Admin(a.id.clone()),
                    json!({"ok": true, "role": "admin", "admin": a.summary_json()}),
                )
            } else if let Some(pid) = partner_id {
                let p = load_partner(&tx, &tenant.id, &pid)?
                    .ok_or_else(|| ApiError::not_found_code("partner_not_found"))?;
                if p.revoked_at.is_some() {
                    return Err(ApiError::forbidden_code("partner_revoked"));
                }
                if p.activated_at.is_none() {
                    tx.exec(
                        "UPDATE partners SET activated_at = ?1, updated_at = ?1 WHERE id = ?2",
                        params![now, p.id],
                    )?;
                    crate::outbox::emit(
                        &tx,
                        &tenant.id,
                        "partner.activated",
                        json!({"partnerId": p.id, "email": p.email, "name": p.name, "activatedAt": now}),
                        &now,
                    )?;
                }
                (
                    Subject::Partner(p.id.clone()),
                    json!({"ok": true, "role": "partner", "partner": p.summary_json()}),
                )
            } else {
                return Err(invalid());
            };
            tx.exec(
                "UPDATE magic_links SET used_at = ?1 WHERE id = ?2",
                params![now, link_id],
            )?;
            let session = create_session(&tx, &tenant.id, &subject, &st)?;
            tx.commit()?;
            Ok((session, body))
        })
        .await?;
    let mut resp = axum::Json(out).into_response();
    if let Ok(v) = session_set_cookie(&session, &state).parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn signout(
    State(state): State<AppState>,
    tenant: Tenant,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    if let Some(token) = session_cookie(&headers) {
        let now = state.now_iso();
        state
            .db
            .call(move |c| {
                c.exec(
                    "UPDATE sessions SET revoked_at = ?1 WHERE token_hash = ?2 AND tenant_id = ?3 AND revoked_at IS NULL",
                    params![now, util::sha256_hex(&token), tenant.id],
                )?;
                Ok(())
            })
            .await?;
    }
    let mut resp = axum::Json(json!({"ok": true})).into_response();
    if let Ok(v) = session_clear_cookie(&state).parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn whoami(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
) -> ApiResult<axum::Json<Value>> {
    match auth.require_authenticated()?.clone() {
        Principal::Admin(AdminSource::Env) => {
            Ok(axum::Json(json!({"role": "admin", "source": "env"})))
        }
        Principal::Admin(AdminSource::Key { .. }) => {
            Ok(axum::Json(json!({"role": "admin", "source": "db"})))
        }
        Principal::Admin(AdminSource::Session { admin, .. }) => Ok(axum::Json(json!({
            "role": "admin",
            "source": "session",
            "admin": {"id": admin.id, "email": admin.email, "name": admin.name},
        }))),
        Principal::Scoped { .. } => Err(ApiError::forbidden_code("scoped_key_not_for_portal")
            .detail("scoped API keys cannot use the portal identity routes")),
        Principal::Partner { partner_id, .. } => {
            let p = state
                .db
                .call(move |c| load_partner(c, &tenant.id, &partner_id))
                .await?
                .ok_or_else(ApiError::unauthorized)?;
            Ok(axum::Json(json!({
                "role": "partner",
                "partnerId": p.id,
                "partner": p.summary_json(),
            })))
        }
        _ => Err(ApiError::unauthorized()),
    }
}

async fn introspect(auth: Auth) -> ApiResult<axum::Json<Value>> {
    match auth.require_authenticated()? {
        Principal::Admin(_) => Ok(axum::Json(json!({"role": "admin", "unrestricted": true}))),
        Principal::Scoped { scopes, .. } => {
            Ok(axum::Json(json!({"role": "scoped", "scopes": scopes})))
        }
        Principal::Partner { partner_id, .. } => Ok(axum::Json(json!({
            "role": "partner",
            "restrictedTo": {"partnerId": partner_id},
        }))),
        _ => Err(ApiError::unauthorized()),
    }
}
