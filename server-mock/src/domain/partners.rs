//! Partner lifecycle (API.md §3.1): revoke and reinstate, with the credential-cache
//! invalidation that must run inside the same job (see [`crate::auth::cache`]).

use rusqlite::Connection;

use crate::auth::{CredentialCache, Revoked};
use crate::error::{ApiError, ApiResult};
use crate::store;

/// Revokes partner `id` at `now`: sets `revoked_at`/`revoke_reason`, revokes its live
/// API keys and sessions, and drops its cached credentials (so its next request is 401).
/// The caller has checked that the partner exists and is active.
pub fn revoke(
    c: &Connection,
    credentials: &CredentialCache,
    tenant_id: &str,
    id: &str,
    reason: Option<&str>,
    now: &str,
) -> ApiResult<()> {
    store::partners::set_revoked(c, tenant_id, id, reason, now)?;
    store::api_keys::revoke_for_partner(c, tenant_id, id, now)?;
    store::sessions::revoke_for_partner(c, tenant_id, id, now)?;
    credentials.invalidate(tenant_id, Revoked::Partner(id));
    Ok(())
}

/// `POST /partners/{id}/reinstate`: clears the revocation of partner `id` (its keys and
/// sessions stay revoked) and drops any cached credential of it. Errors: 404 `not_found`,
/// 409 `not_revoked`.
pub fn reinstate(
    c: &Connection,
    credentials: &CredentialCache,
    tenant_id: &str,
    id: &str,
    now: &str,
) -> ApiResult<()> {
    match store::partners::revoked_at(c, tenant_id, id)? {
        None => return Err(ApiError::not_found()),
        Some(None) => return Err(ApiError::conflict("not_revoked")),
        Some(Some(_)) => {}
    }
    store::partners::clear_revoked(c, tenant_id, id, now)?;
    credentials.invalidate(tenant_id, Revoked::Partner(id));
    Ok(())
}

/// Activates pending partner `p` at `now` (first magic-link sign-in) and records the
/// `partner.activated` webhook event; an active partner is left as is. Errors: database
/// errors.
pub fn activate(
    c: &Connection,
    tenant_id: &str,
    p: &store::partners::Partner,
    now: &str,
) -> ApiResult<()> {
    if p.activated_at.is_some() {
        return Ok(());
    }
    store::partners::set_activated(c, tenant_id, &p.id, now)?;
    crate::outbox::emit(
        c,
        tenant_id,
        "partner.activated",
        serde_json::json!({"partnerId": p.id, "email": p.email, "name": p.name, "activatedAt": now}),
        now,
    )?;
    Ok(())
}
