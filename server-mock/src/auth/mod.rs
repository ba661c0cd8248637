//! Authentication (API.md §2): credential resolution, the [`Principal`], guards, and the
//! session / magic-link primitives.
//!
//! - [`principal`]: [`Principal`], [`Auth`] (extension + extractor), [`Scope`], [`ClientIp`];
//! - [`guards`]: `Auth::require_*` (also `Auth::require_platform` for `/platform/*`);
//! - [`keys`]: bearer parsing, the API-key lookup, the \[EXT\] IP allowlist;
//! - [`sessions`]: the session cookie and lookup, sessions, magic links, `Set-Cookie`;
//! - [`cache`]: the [`CredentialCache`] (resolved credentials by hash, invalidation).
//!
//! [`resolve_auth`] (route-group middleware, after tenant resolution) reads the credential
//! once per request and stores an [`Auth`] in the request extensions; handlers take
//! `auth: Auth` as an extractor and call a guard:
//! - [`Auth::require_admin`] — admins only;
//! - [`Auth::require_scope`] — admins, or scoped keys holding the scope (else 403
//!   `forbidden_scope` with `required`); partners → 403 `forbidden`;
//! - [`Auth::require_admin_or_partner`] — admins or that partner (others 403 `forbidden`);
//! - [`Auth::require_scope_or_partner`] — admin, scoped key with the scope, or that partner.
//!
//! **Cost.** The bootstrap admin key and the platform key are compared in memory (no
//! database). A DB key or session is looked up once and then answered from the
//! [`CredentialCache`] (keyed by its SHA-256, never the plaintext): a request with a
//! cached credential runs no database job for authentication. `lastUsedAt` is refreshed
//! at most once per [`LAST_USED_GRANULARITY_SECS`] per credential: the lookup job writes
//! it on a miss; on a hit the one request that claims the refresh (compare-and-swap on the
//! entry) runs one small `UPDATE` job before its handler, every other request none.

pub mod cache;
pub mod guards;
pub mod keys;
pub mod principal;
pub mod sessions;

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use chrono::Duration;

pub use cache::{CredentialCache, Revoked};
pub use keys::ip_allowed;
pub use principal::{AdminInfo, AdminSource, Auth, ClientIp, PartnerSource, Principal, Scope};
pub use sessions::{
    create_magic_link, create_session, session_clear_cookie, session_cookie, session_set_cookie,
    Subject, SESSION_COOKIE,
};

use cache::{CredentialKey, CredentialKind, Entry};

use crate::error::ApiResult;
use crate::state::AppState;
use crate::tenancy::Tenant;
use crate::util;

/// Route-group middleware: resolves the credential into an [`Auth`] extension.
pub async fn resolve_auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let tenant = req.extensions().get::<Tenant>().cloned();
    let ip = req.extensions().get::<ClientIp>().map(|c| c.0);
    let auth = match resolve(&state, req.headers(), tenant, ip).await {
        Ok(a) => a,
        Err(e) => return axum::response::IntoResponse::into_response(e),
    };
    req.extensions_mut().insert(auth);
    next.run(req).await
}

async fn resolve(
    state: &AppState,
    headers: &HeaderMap,
    tenant: Option<Tenant>,
    ip: Option<IpAddr>,
) -> ApiResult<Auth> {
    match keys::bearer(headers) {
        Some(Err(())) => Ok(Auth::invalid()),
        Some(Ok(token)) => {
            if let Some(k) = &state.config.admin_key {
                if util::ct_eq(&token, k) {
                    return Ok(Auth::of(Principal::Admin(AdminSource::Env)));
                }
            }
            if let Some(k) = &state.config.platform_key {
                if util::ct_eq(&token, k) {
                    return Ok(Auth::of(Principal::Platform));
                }
            }
            let Some(tenant) = tenant else {
                return Ok(Auth::invalid());
            };
            if !token.starts_with("op_") {
                return Ok(Auth::invalid());
            }
            let hash = util::sha256_hex(&token);
            resolve_cached(
                state,
                tenant,
                CredentialKind::Key,
                hash,
                ip,
                move |c, t, h, now| keys::lookup(c, t, &token, h, now),
            )
            .await
        }
        None => {
            let Some(token) = session_cookie(headers) else {
                return Ok(Auth::default());
            };
            let Some(tenant) = tenant else {
                return Ok(Auth::invalid());
            };
            if !token.starts_with("ops_") {
                return Ok(Auth::invalid());
            }
            let hash = util::sha256_hex(&token);
            resolve_cached(
                state,
                tenant,
                CredentialKind::Session,
                hash,
                ip,
                sessions::lookup,
            )
            .await
        }
    }
}

/// Answers from the cache, or runs `lookup` as one job and caches a valid answer (see
/// [`cache`] for the generation check).
async fn resolve_cached<F>(
    state: &AppState,
    tenant: Tenant,
    kind: CredentialKind,
    hash: String,
    ip: Option<IpAddr>,
    lookup: F,
) -> ApiResult<Auth>
where
    F: FnOnce(&rusqlite::Connection, &str, &str, &str) -> ApiResult<Option<Entry>> + Send + 'static,
{
    let key = CredentialKey {
        tenant_id: tenant.id,
        kind,
        hash,
    };
    let now = state.now_iso();
    let cache = &state.credentials;
    if let Some(entry) = cache.get(&key) {
        if entry
            .expires_at
            .as_deref()
            .is_some_and(|e| e <= now.as_str())
        {
            cache.remove(&key);
            return Ok(Auth::invalid());
        }
        touch_last_used(state, &key, &entry, &now).await?;
        return Ok(auth_of(state, &entry, ip));
    }
    let generation = cache.generation();
    let (tenant_id, hash) = (key.tenant_id.clone(), key.hash.clone());
    let found = state
        .db
        .call(move |c| lookup(c, &tenant_id, &hash, &now))
        .await?;
    let Some(entry) = found else {
        return Ok(Auth::invalid());
    };
    let auth = auth_of(state, &entry, ip);
    cache.insert_if_current(generation, key, entry);
    Ok(auth)
}

fn auth_of(state: &AppState, entry: &Entry, ip: Option<IpAddr>) -> Auth {
    Auth {
        principal: entry.principal.clone(),
        ip_denied: state.ext() && !keys::admits(entry.allowed_ips.as_deref(), ip),
    }
}

/// `lastUsedAt` of keys and sessions is refreshed at most once per
/// [`LAST_USED_GRANULARITY_SECS`]: a request within that time of the stored value leaves the
/// row untouched, so a burst of authenticated reads writes nothing (and costs no commit).
pub const LAST_USED_GRANULARITY_SECS: i64 = 60;

/// `now` minus [`LAST_USED_GRANULARITY_SECS`] (ISO): rows used after it are not touched.
pub(crate) fn last_used_threshold(now: &str) -> String {
    util::parse_ts(now)
        .map(|t| util::fmt_ts(t - Duration::seconds(LAST_USED_GRANULARITY_SECS)))
        .unwrap_or_else(|| now.to_owned())
}

/// Unix seconds of the `last_used_at` a lookup leaves: `now` when it wrote it, else the
/// stored value (`i64::MIN` when never used).
pub(crate) fn known_last_used(touched: bool, now: &str, stored: Option<&str>) -> i64 {
    let at = if touched { Some(now) } else { stored };
    at.and_then(util::parse_ts)
        .map(|t| t.timestamp())
        .unwrap_or(i64::MIN)
}

/// On a cache hit: when the entry's last known write is [`LAST_USED_GRANULARITY_SECS`]
/// old, the request that wins the compare-and-swap runs one `UPDATE` job (awaited, so a
/// later request sees it); every other request writes nothing.
async fn touch_last_used(
    state: &AppState,
    key: &CredentialKey,
    entry: &Entry,
    now: &str,
) -> ApiResult<()> {
    let Some(now_secs) = util::parse_ts(now).map(|t| t.timestamp()) else {
        return Ok(());
    };
    let last = entry.last_used_secs.load(Ordering::Acquire);
    if now_secs.saturating_sub(last) < LAST_USED_GRANULARITY_SECS
        || entry
            .last_used_secs
            .compare_exchange(last, now_secs, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    {
        return Ok(());
    }
    let (id, kind, now) = (entry.credential_id.clone(), key.kind, now.to_owned());
    state
        .db
        .call(move |c| {
            let threshold = last_used_threshold(&now);
            match kind {
                CredentialKind::Key => {
                    crate::store::api_keys::touch_last_used(c, &id, &now, &threshold)?
                }
                CredentialKind::Session => {
                    crate::store::sessions::touch_last_used(c, &id, &now, &threshold)?
                }
            };
            Ok(())
        })
        .await
}
