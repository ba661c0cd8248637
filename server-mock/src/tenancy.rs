//! Tenant resolution (API.md §1).
//!
//! [`resolve_tenant`] runs before routing (it wraps the whole router) and rewrites the URI:
//! - single mode: every request belongs to the default tenant; `/t/…` and `/api/t/…`
//!   answer 404 `route_not_found`;
//! - multi mode: `/t/<slug>/…` and `/api/t/<slug>/…` resolve `<slug>` and strip the prefix;
//!   `/r/<slug>/<linkKey>` (click router) resolves and becomes `/r/<linkKey>`. An unknown,
//!   malformed or reserved slug answers **404 `route_not_found`** (a tenant that does not
//!   exist is a route that does not exist; it also avoids telling reserved slugs apart).
//!   Requests without a prefix carry no tenant; tenant routes then answer 400
//!   `tenant_slug_missing` ([`require_tenant`], applied to the tenant route group only, so
//!   `/health` and `/platform/*` work without one). \[EXT\] `/platform/*` is never a
//!   tenant route: `/t/<slug>/platform/…` answers 404 `route_not_found`.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::Uri;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Tenancy;
use crate::error::ApiError;
use crate::state::AppState;

/// The default tenant's id (single mode).
pub const DEFAULT_TENANT_ID: &str = "01J0000000DEFAULTTENANT0000";
/// The default tenant's slug.
pub const DEFAULT_TENANT_SLUG: &str = "default";
/// Slugs that never resolve in multi mode.
pub const RESERVED_SLUGS: &[&str] = &[
    "default", "www", "api", "app", "admin", "signup", "login", "auth", "docs", "help", "support",
    "status", "network", "static", "public", "platform",
];

/// The tenant a request belongs to (request extension; also an extractor that answers
/// 400 `tenant_slug_missing` when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Tenant id.
    pub id: String,
    /// Tenant slug.
    pub slug: String,
}

/// True for `[a-z0-9-]+` slugs (length 1–63) that are not reserved.
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 63
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !RESERVED_SLUGS.contains(&slug)
}

/// 400 `tenant_slug_missing`.
pub fn tenant_slug_missing() -> ApiError {
    ApiError::bad_request("tenant_slug_missing")
        .detail("this server is multi-tenant: include /api/t/<slug> (or /t/<slug>) in the URL")
}

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _s: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Tenant>()
            .cloned()
            .ok_or_else(tenant_slug_missing)
    }
}

/// The tenants by slug (multi mode), filled when a tenant is created
/// ([`ensure_tenants`]) and on the first request of a tenant created by another process
/// (a lookup that finds the row caches it). Misses are never cached: an unknown slug is
/// looked up every time, so a tenant created later resolves at once. Tenants are never
/// deleted, so an entry never goes stale.
#[derive(Debug, Default)]
pub struct TenantCache {
    by_slug: std::sync::RwLock<std::collections::HashMap<String, Tenant>>,
}

impl TenantCache {
    /// The cached tenant with slug `slug`.
    pub fn get(&self, slug: &str) -> Option<Tenant> {
        self.by_slug
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(slug)
            .cloned()
    }

    /// Caches `tenant` (call only with a tenant whose row exists).
    pub fn insert(&self, tenant: Tenant) {
        self.by_slug
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant.slug.clone(), tenant);
    }
}

/// Splits `path` into (slug, rest) for `/t/<slug>/rest` and `/api/t/<slug>/rest`.
/// Returns `Some((slug, rest))` where rest starts with `/` (or is `/` when empty).
fn split_prefix(path: &str) -> Option<(&str, String)> {
    let after = path
        .strip_prefix("/api/t/")
        .or_else(|| path.strip_prefix("/t/"))?;
    let (slug, rest) = match after.find('/') {
        Some(i) => (&after[..i], after[i..].to_owned()),
        None => (after, "/".to_owned()),
    };
    Some((slug, rest))
}

/// True for `/platform` and `/platform/…`: the \[EXT\] provisioning routes, which live
/// outside every tenant.
fn is_platform_path(path: &str) -> bool {
    path == "/platform" || path.starts_with("/platform/")
}

fn rewrite(req: &mut Request, new_path: &str) -> Result<(), ApiError> {
    let pq = match req.uri().query() {
        Some(q) => format!("{new_path}?{q}"),
        None => new_path.to_owned(),
    };
    let uri: Uri = pq.parse().map_err(|_| ApiError::route_not_found())?;
    *req.uri_mut() = uri;
    Ok(())
}

/// Outer middleware: resolves the tenant and strips the prefix (see the module docs).
pub async fn resolve_tenant(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    match resolve(&state, &mut req).await {
        Ok(()) => next.run(req).await,
        // The browser-facing identify route gets its CORS headers even when the tenant
        // prefix is unknown (the router's own CORS layer never sees this request).
        Err(e)
            if req
                .uri()
                .path()
                .ends_with(crate::routes::events::IDENTIFY_PATH) =>
        {
            let preflight = req.method() == axum::http::Method::OPTIONS;
            crate::routes::events::cors(e.into_response(), preflight)
        }
        Err(e) => e.into_response(),
    }
}

async fn resolve(state: &AppState, req: &mut Request) -> Result<(), ApiError> {
    let path = req.uri().path().to_owned();
    let is_prefixed = path == "/t" || path == "/api/t" || split_prefix(&path).is_some();
    match state.config.tenancy {
        Tenancy::Single => {
            if is_prefixed {
                return Err(ApiError::route_not_found());
            }
            req.extensions_mut().insert(Tenant {
                id: DEFAULT_TENANT_ID.into(),
                slug: DEFAULT_TENANT_SLUG.into(),
            });
            Ok(())
        }
        Tenancy::Multi => {
            // click router: /r/<slug>/<linkKey>
            if let Some(rest) = path.strip_prefix("/r/") {
                if let Some((slug, key)) = rest.split_once('/') {
                    let tenant = lookup(state, slug).await?;
                    let new_path = format!("/r/{key}");
                    rewrite(req, &new_path)?;
                    req.extensions_mut().insert(tenant);
                }
                return Ok(());
            }
            if path == "/t" || path == "/api/t" {
                return Err(ApiError::route_not_found());
            }
            let Some((slug, rest)) = split_prefix(&path) else {
                return Ok(());
            };
            if is_platform_path(&rest) {
                return Err(ApiError::route_not_found());
            }
            let tenant = lookup(state, slug).await?;
            rewrite(req, &rest)?;
            req.extensions_mut().insert(tenant);
            Ok(())
        }
    }
}

/// The tenant with slug `slug`: from [`AppState::tenants`], else one lookup job (a found
/// tenant is cached; a miss is not). Unknown or invalid slugs → 404 `route_not_found`.
async fn lookup(state: &AppState, slug: &str) -> Result<Tenant, ApiError> {
    if !is_valid_slug(slug) {
        return Err(ApiError::route_not_found());
    }
    if let Some(t) = state.tenants.get(slug) {
        return Ok(t);
    }
    let slug = slug.to_owned();
    let tenant = state
        .db
        .call(move |c| Ok(crate::store::tenants::find_by_slug(c, &slug)?))
        .await?
        .ok_or_else(ApiError::route_not_found)?;
    state.tenants.insert(tenant.clone());
    Ok(tenant)
}

/// Route-group middleware: tenant routes without a resolved tenant → 400
/// `tenant_slug_missing` (authenticated or not).
pub async fn require_tenant(req: Request, next: Next) -> Response {
    if req.extensions().get::<Tenant>().is_none() {
        return tenant_slug_missing().into_response();
    }
    next.run(req).await
}

/// Creates the default tenant (single mode) or the configured slugs (multi mode) unless
/// they exist, and caches every configured tenant in `cache` (multi mode; single mode
/// never looks tenants up). Run it in a job that commits before the server serves.
/// Errors: an invalid slug, database errors.
pub fn ensure_tenants(
    conn: &rusqlite::Connection,
    cache: &TenantCache,
    tenancy: Tenancy,
    slugs: &[String],
    now_iso: &str,
) -> anyhow::Result<()> {
    use crate::store::tenants;
    match tenancy {
        Tenancy::Single => {
            tenants::insert_if_absent(
                conn,
                DEFAULT_TENANT_ID,
                DEFAULT_TENANT_SLUG,
                "Default",
                now_iso,
            )?;
        }
        Tenancy::Multi => {
            for slug in slugs {
                if !is_valid_slug(slug) {
                    anyhow::bail!(
                        "invalid tenant slug '{slug}': use [a-z0-9-]+ and avoid reserved slugs"
                    );
                }
                tenants::insert_if_absent(conn, &crate::util::new_id(), slug, slug, now_iso)?;
                let tenant = tenants::find_by_slug(conn, slug)?
                    .ok_or_else(|| anyhow::anyhow!("tenant '{slug}' vanished after insert"))?;
                cache.insert(tenant);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(is_valid_slug("acme"));
        assert!(is_valid_slug("acme-2"));
        for bad in ["", "Acme", "a_b", "a/b", "default", "platform", "api"] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            split_prefix("/t/acme/partners"),
            Some(("acme", "/partners".to_owned()))
        );
        assert_eq!(
            split_prefix("/api/t/acme/partners/x"),
            Some(("acme", "/partners/x".to_owned()))
        );
        assert_eq!(split_prefix("/t/acme"), Some(("acme", "/".to_owned())));
        assert_eq!(split_prefix("/partners"), None);
        assert_eq!(split_prefix("/tx/acme"), None);
        assert!(is_platform_path("/platform/tenants"));
        assert!(is_platform_path("/platform"));
        assert!(!is_platform_path("/platforms"));
        assert!(!is_platform_path("/partners"));
    }
}
