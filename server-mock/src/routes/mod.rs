//! Route modules. Each exposes `pub fn router() -> OpenApiRouter<AppState>` registering its
//! handlers with `utoipa_axum::routes!` (each handler carries `#[utoipa::path]`), so the
//! router and `/openapi.json` ([`openapi`]) come from the same definitions; add a resource
//! by writing `routes/<name>.rs` and one `.merge(<name>::router())` line in the right group
//! below.
//!
//! Groups (outermost layer first):
//! - [`public`]: no tenant, no auth, no rate limit (`/health`, `/openapi.json`).
//! - [`platform()`]: \[EXT\] `/platform/*`, no tenant: credential resolved into `Auth` (only
//!   the platform key passes its guard) → rate limit → idempotency → handler. Mounted only
//!   in multi mode with extensions on; elsewhere every `/platform/*` path is 404
//!   `route_not_found` (the fallback), as API.md §5 says.
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
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

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
pub mod grants;
pub mod health;
pub mod links;
pub mod login_links;
pub mod openapi;
pub mod partners;
pub mod platform;
pub mod postbacks;
pub mod programs;
pub mod snapshots;
pub mod webhooks;

/// Routes that need neither a tenant nor a credential.
pub fn public() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(openapi::router())
}

/// \[EXT\] Tenant provisioning under `/platform/*` (see the module docs).
pub fn platform() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(platform::router())
}

/// Tenant routes that authenticate (see the module docs).
pub fn authenticated() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(dev::router())
        .merge(partners::router())
        .merge(api_keys::router())
        .merge(admins::router())
        .merge(programs::router())
        .merge(grants::router())
        .merge(snapshots::router())
        .merge(links::router())
        .merge(clicks::router())
        .merge(events::router())
        .merge(commissions::router())
        .merge(analytics::router())
        .merge(export::router())
        .merge(login_links::router())
        .merge(postbacks::router())
        .merge(webhooks::router())
}

/// Tenant routes that never read credentials.
pub fn tenant_open() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(clicks::open_router())
        .merge(events::open_router())
}

/// The OpenAPI document of every route (what `GET /openapi.json` serves).
pub fn openapi() -> OpenApi {
    let mut doc = public().into_openapi();
    doc.merge(authenticated().into_openapi());
    doc.merge(tenant_open().into_openapi());
    doc.merge(platform().into_openapi());
    openapi::finish(doc)
}

/// The complete router with every layer, ready to serve.
pub fn build(state: AppState) -> Router {
    build_with(state, Router::new())
}

/// [`build`] plus `extra` routes merged into the authenticated group (tests, embedding).
pub fn build_with(state: AppState, extra: Router<AppState>) -> Router {
    let (authed, authed_doc) = authenticated().split_for_parts();
    let (open, open_doc) = tenant_open().split_for_parts();
    let (public, public_doc) = public().split_for_parts();
    let (platform, platform_doc) = platform().split_for_parts();
    let mut doc = public_doc;
    doc.merge(authed_doc);
    doc.merge(open_doc);
    doc.merge(platform_doc);
    let doc = openapi::finish(doc);
    let mut authed = authed.route_layer(from_fn_with_state(
        state.clone(),
        crate::idempotency::idempotency,
    ));
    if extra.has_routes() {
        authed = authed.merge(extra.route_layer(from_fn_with_state(
            state.clone(),
            crate::idempotency::idempotency_lookup_first,
        )));
    }
    let authed = authed
        .route_layer(from_fn_with_state(
            state.clone(),
            crate::ratelimit::rate_limit,
        ))
        .route_layer(from_fn_with_state(state.clone(), crate::auth::resolve_auth))
        .route_layer(from_fn(crate::tenancy::require_tenant));
    let mut open = open;
    // axum panics on a route_layer over an empty router
    if open.has_routes() {
        open = open
            .route_layer(from_fn_with_state(
                state.clone(),
                crate::ratelimit::rate_limit,
            ))
            .route_layer(from_fn(crate::tenancy::require_tenant));
    }
    let serve_platform =
        state.config.tenancy == crate::config::Tenancy::Multi && state.config.extensions;
    let platform = if serve_platform {
        platform
            .route_layer(from_fn_with_state(
                state.clone(),
                crate::idempotency::idempotency,
            ))
            .route_layer(from_fn_with_state(
                state.clone(),
                crate::ratelimit::rate_limit,
            ))
            .route_layer(from_fn_with_state(state.clone(), crate::auth::resolve_auth))
    } else {
        Router::new()
    };
    Router::new()
        .merge(public.layer(openapi::serve(&doc)))
        .merge(authed)
        .merge(open)
        .merge(platform)
        .fallback(crate::middleware::route_not_found)
        .method_not_allowed_fallback(crate::middleware::method_not_allowed)
        .layer(from_fn(crate::extract::read_whole_body))
        .layer(DefaultBodyLimit::max(crate::extract::MAX_BODY))
        .layer(CatchPanicLayer::custom(crate::middleware::panic_response))
        .layer(from_fn(events::identify_cors))
        .with_state(state)
}
