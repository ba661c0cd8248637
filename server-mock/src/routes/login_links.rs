//! \[EXT\] Login links (API.md §2.1): `POST /partners/:id/login-links` (admin) → 201
//! `{"url":"<portal>/auth/magic?token=opml_…","expiresAt"}`. The token is an ordinary
//! `partner_signin` magic link (15 min, single use; verifying it activates a pending
//! partner). At most 30 per minute per tenant (429 `rate_limited`). 404 `not_found`;
//! 409 `partner_revoked`. Nothing is mailed: the caller hands the URL over itself.
//! With extensions off the route answers 404 `route_not_found`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::auth::{create_magic_link, Auth, Subject};
use crate::error::{ApiError, ApiResult};
use crate::mail::purpose;
use crate::routes::partners::load_partner;
use crate::state::AppState;
use crate::tenancy::Tenant;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/partners/{id}/login-links", post(create))
}

async fn create(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<crate::respond::Reply<Value>> {
    if !state.ext() {
        return Err(ApiError::route_not_found());
    }
    auth.require_admin()?;
    state.limits.check_named("login-links", &tenant.id)?;
    let st = state.clone();
    crate::respond::respond(&state, StatusCode::CREATED, move |c| {
        let p = load_partner(c, &tenant.id, &id)?.ok_or_else(ApiError::not_found)?;
        if p.revoked_at.is_some() {
            return Err(ApiError::conflict("partner_revoked"));
        }
        let (token, expires_at) = create_magic_link(
            c,
            &tenant.id,
            purpose::PARTNER_SIGNIN,
            &Subject::Partner(p.id),
            &st,
        )?;
        let url = st.mailer.magic_url(&tenant, &token);
        Ok(json!({"url": url, "expiresAt": expires_at}))
    })
    .await
}
