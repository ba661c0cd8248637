//! Admin lifecycle (API.md §3.8): revoke and reinstate, with the credential-cache
//! invalidation that must run inside the same job (see [`crate::auth::cache`]).

use rusqlite::Connection;

use crate::auth::{CredentialCache, Revoked};
use crate::error::{ApiError, ApiResult};
use crate::store;

/// Revokes admin `id` at `now`: sets `revoked_at`, revokes its live sessions and drops
/// them from the credential cache (so its next request is 401). Errors: 409
/// `cannot_revoke_last_active_admin` when `activated` and no other active admin is left.
/// The caller has checked that the admin exists, is active and is not the caller.
pub fn revoke(
    c: &Connection,
    credentials: &CredentialCache,
    tenant_id: &str,
    id: &str,
    activated: bool,
    now: &str,
) -> ApiResult<()> {
    if activated && store::admins::count_other_active(c, tenant_id, id)? == 0 {
        return Err(ApiError::conflict("cannot_revoke_last_active_admin"));
    }
    store::admins::set_revoked(c, tenant_id, id, now)?;
    store::sessions::revoke_for_admin(c, tenant_id, id, now)?;
    credentials.invalidate(tenant_id, Revoked::Admin(id));
    Ok(())
}

/// `POST /admins/{id}/reinstate`: clears the revocation of admin `id` (its sessions stay
/// revoked) and drops any cached credential of it. Errors: 404 `not_found`, 409
/// `not_revoked`.
pub fn reinstate(
    c: &Connection,
    credentials: &CredentialCache,
    tenant_id: &str,
    id: &str,
    now: &str,
) -> ApiResult<()> {
    match store::admins::revoked_at(c, tenant_id, id)? {
        None => return Err(ApiError::not_found()),
        Some(None) => return Err(ApiError::conflict("not_revoked")),
        Some(Some(_)) => {}
    }
    store::admins::clear_revoked(c, tenant_id, id, now)?;
    credentials.invalidate(tenant_id, Revoked::Admin(id));
    Ok(())
}
