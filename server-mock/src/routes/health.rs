//! `GET /health` — no auth, no tenant, no rate limit.

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// `GET /health` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `true`.
    pub ok: bool,
    /// Always `"api"`.
    #[schema(example = "api")]
    pub service: &'static str,
    /// Always `"selfhost"`.
    #[schema(example = "selfhost")]
    pub mode: &'static str,
}

/// Liveness: no authentication, no tenant, no rate limit.
#[utoipa::path(get, path = "/health", tag = "meta", security(()),
    responses((status = 200, description = "The server is up", body = Health)))]
async fn health() -> Json<Health> {
    Json(Health {
        ok: true,
        service: "api",
        mode: "selfhost",
    })
}
