//! \[EXT\] Login links (API.md §2.1): `POST /partners/:id/login-links` (admin) → 201
//! `{"url":"<portal>/auth/magic?token=opml_…","expiresAt"}`. The token is an ordinary
//! `partner_signin` magic link (15 min, single use; verifying it activates a pending
//! partner). At most 30 per minute per tenant (429 `rate_limited`). 404 `not_found`;
//! 409 `partner_revoked`. Nothing is mailed: the caller hands the URL over itself.
//! With extensions off the route answers 404 `route_not_found`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{create_magic_link, Auth, Subject};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::mail::purpose;
use crate::respond::{respond, Reply};
use crate::state::AppState;
use crate::store;
use crate::tenancy::Tenant;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create))
}

/// `POST /partners/{id}/login-links` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginLink {
    /// `<portal>[/t/<slug>]/auth/magic?token=opml_…` (a secret: hand it to the partner).
    pub url: String,
    /// When the link expires (ISO 8601, 15 minutes).
    pub expires_at: String,
}

/// \[EXT\] A single-use sign-in URL for a partner, not mailed (admin only; 30 per minute
/// per tenant).
#[utoipa::path(post, path = "/partners/{id}/login-links", operation_id = "createLoginLink", tag = "partners",
    params(("id" = String, Path, description = "Partner id")),
    extensions(("x-extension" = json!(true))),
    responses((status = 201, description = "The login link", body = LoginLink),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "partner_revoked", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<LoginLink>> {
    if !state.ext() {
        return Err(ApiError::route_not_found());
    }
    auth.require_admin()?;
    state.limits.check_named("login-links", &tenant.id)?;
    let st = state.clone();
    respond(&state, StatusCode::CREATED, move |c| {
        let p = store::partners::get(c, &tenant.id, &id)?.ok_or_else(ApiError::not_found)?;
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
        Ok(LoginLink {
            url: st.mailer.magic_url(&tenant, &token),
            expires_at,
        })
    })
    .await
}
