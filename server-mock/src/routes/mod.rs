//! Route modules. Each exposes `pub fn router() -> Router<AppState>`; add a resource by
//! writing `routes/<name>.rs` and one `.merge(<name>::router())` line in the right group
//! below.
//!
//! Groups (outermost layer first):
//! - [`public`]: no tenant, no auth, no rate limit (`/health`; later `/openapi.json`,
//!   `/platform/*`, which resolve their own principal).
//! - [`authenticated`]: tenant required (400 `tenant_slug_missing`) → credential resolved
//!   into `Auth` → rate limit → \[EXT\] idempotency → handler. Handlers call a guard.
//! - [`tenant_open`]: tenant required → rate limit (per IP) → handler; the credential is
//!   never read (e.g. `POST /attribution/identify`, the click router `/r/<linkKey>`).
//!
//! Around all of them, [`events::identify_cors`] puts the CORS headers on every response to
//! `/attribution/identify` (including the limiter's 429 and other early rejections).

use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

use crate::state::AppState;

pub mod admins;
pub mod analytics;
pub mod api_keys;
pub mod auth;
pub mod clicks;
pub mod commissions;
pub mod common;
pub mod dev;
pub mod events;
pub mod export;
pub mod health;
pub mod links;
pub mod login_links;
pub mod partners;
pub mod programs;

/// Routes that need neither a tenant nor a credential.
pub fn public() -> Router<AppState> {
    Router::new().merge(health::router())
}

/// Tenant routes that authenticate (see the module docs).
pub fn authenticated() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(dev::router())
        .merge(partners::router())
        .merge(api_keys::router())
        .merge(admins::router())
        .merge(programs::router())
        .merge(links::router())
        .merge(clicks::router())
        .merge(events::router())
        .merge(commissions::router())
        .merge(analytics::router())
        .merge(export::router())
        .merge(login_links::router())
}

/// Tenant routes that never read credentials.
pub fn tenant_open() -> Router<AppState> {
    Router::new()
        .merge(clicks::open_router())
        .merge(events::open_router())
}

/// The complete router with every layer, ready to serve.
pub fn build(state: AppState) -> Router {
    build_with(state, Router::new())
}

/// [`build`] plus `extra` routes merged into the authenticated group (tests, embedding).
pub fn build_with(state: AppState, extra: Router<AppState>) -> Router {
    let authed = authenticated()
        .merge(extra)
        .route_layer(from_fn_with_state(
            state.clone(),
            crate::idempotency::idempotency,
        ))
        .route_layer(from_fn_with_state(
            state.clone(),
            crate::ratelimit::rate_limit,
        ))
        .route_layer(from_fn_with_state(state.clone(), crate::auth::resolve_auth))
        .route_layer(from_fn(crate::tenancy::require_tenant));
    let mut open = tenant_open();
    // axum panics on a route_layer over an empty router
    if open.has_routes() {
        open = open
            .route_layer(from_fn_with_state(
                state.clone(),
                crate::ratelimit::rate_limit,
            ))
            .route_layer(from_fn(crate::tenancy::require_tenant));
    }
    Router::new()
        .merge(public())
        .merge(authed)
        .merge(open)
        .fallback(crate::middleware::route_not_found)
        .method_not_allowed_fallback(crate::middleware::method_not_allowed)
        .layer(DefaultBodyLimit::max(crate::extract::MAX_BODY))
        .layer(CatchPanicLayer::custom(crate::middleware::panic_response))
        .layer(from_fn(events::identify_cors))
        .with_state(state)
}
