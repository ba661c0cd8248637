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
    super::require_revoked(store::admins::revoked_at(c, tenant_id, id)?)?;
    store::admins::clear_revoked(c, tenant_id, id, now)?;
    credentials.invalidate(tenant_id, Revoked::Admin(id));
    Ok(())
}

use crate::auth::{create_magic_link, Subject};
use crate::mail::{purpose, Mail};
use crate::state::AppState;
use crate::store::admins::Admin;
use crate::tenancy::Tenant;
use crate::util;

/// Creates an `admin_invite` magic link for `admin` and mails it. Errors: database errors.
pub fn send_invite(
    c: &Connection,
    state: &AppState,
    tenant: &Tenant,
    admin: &Admin,
) -> ApiResult<()> {
    let (token, _) = create_magic_link(
        c,
        &tenant.id,
        purpose::ADMIN_INVITE,
        &Subject::Admin(admin.id.clone()),
        state,
    )?;
    let url = state.mailer.magic_url(tenant, &token);
    state.mailer.send(
        c,
        tenant,
        Mail {
            to: &admin.email,
            subject: "You've been added as an admin".into(),
            body: format!(
                "Hi {},\n\nYou have been added as an admin of the partner program. Open this link to sign in (valid for 15 minutes):\n\n{url}\n",
                admin.name
            ),
            purpose: purpose::ADMIN_INVITE,
            token: Some(&token),
            url: Some(&url),
        },
        &state.now_iso(),
    )
}

/// `POST /admins`: creates a pending admin with (lower-cased) `email` and `name` and mails
/// the invite. Errors: 409 `email_taken`.
pub fn create(
    c: &Connection,
    state: &AppState,
    tenant: &Tenant,
    email: &str,
    name: &str,
) -> ApiResult<Admin> {
    if store::admins::get_by_email(c, &tenant.id, email)?.is_some() {
        return Err(ApiError::conflict("email_taken"));
    }
    let id = util::new_id();
    store::admins::insert(c, &tenant.id, &id, email, name, &state.now_iso())?;
    let admin = store::admins::get(c, &tenant.id, &id)?.ok_or_else(ApiError::internal)?;
    send_invite(c, state, tenant, &admin)?;
    Ok(admin)
}

/// `POST /admins/{id}/invite`: mails a new invite to pending admin `id`. Errors: 404
/// `not_found`, 409 `already_activated`, 409 `admin_revoked`.
pub fn invite(c: &Connection, state: &AppState, tenant: &Tenant, id: &str) -> ApiResult<()> {
    let a = store::admins::get(c, &tenant.id, id)?.ok_or_else(ApiError::not_found)?;
    if a.activated_at.is_some() {
        return Err(ApiError::conflict("already_activated"));
    }
    if a.revoked_at.is_some() {
        return Err(ApiError::conflict("admin_revoked"));
    }
    send_invite(c, state, tenant, &a)
}

/// `POST /admins/{id}/revoke` by an admin whose own admin id (sessions) is `caller`:
/// checks, then [`revoke`]. Errors: 404 `not_found`, 409 `already_revoked`, 400
/// `cannot_revoke_self`, 409 `cannot_revoke_last_active_admin`.
pub fn revoke_checked(
    c: &Connection,
    credentials: &CredentialCache,
    tenant_id: &str,
    id: &str,
    caller: Option<&str>,
    now: &str,
) -> ApiResult<()> {
    let a = store::admins::get(c, tenant_id, id)?.ok_or_else(ApiError::not_found)?;
    if a.revoked_at.is_some() {
        return Err(ApiError::conflict("already_revoked"));
    }
    if caller == Some(a.id.as_str()) {
        return Err(ApiError::bad_request("cannot_revoke_self")
            .detail("an admin cannot revoke their own access"));
    }
    revoke(
        c,
        credentials,
        tenant_id,
        &a.id,
        a.activated_at.is_some(),
        now,
    )
}

/// \[EXT\] `POST /platform/tenants/{id}/login-links`: an `admin_signin` magic link (15 min,
/// single use, not mailed) for the admin of `tenant` with (lower-cased) `email`; when the
/// tenant has no admin with that email one is created and activated at once (named after
/// the email: the reseller vouches for it). Returns `(url, expiresAt)`. Errors: 409
/// `admin_revoked`.
pub fn sign_in_link(
    c: &Connection,
    state: &AppState,
    tenant: &Tenant,
    email: &str,
) -> ApiResult<(String, String)> {
    let admin = match store::admins::get_by_email(c, &tenant.id, email)? {
        Some(a) if a.revoked_at.is_some() => return Err(ApiError::conflict("admin_revoked")),
        Some(a) => a,
        None => {
            let id = util::new_id();
            let now = state.now_iso();
            store::admins::insert(c, &tenant.id, &id, email, email, &now)?;
            store::admins::set_activated(c, &tenant.id, &id, &now)?;
            store::admins::get(c, &tenant.id, &id)?.ok_or_else(ApiError::internal)?
        }
    };
    let (token, expires_at) = create_magic_link(
        c,
        &tenant.id,
        purpose::ADMIN_SIGNIN,
        &Subject::Admin(admin.id),
        state,
    )?;
    Ok((state.mailer.magic_url(tenant, &token), expires_at))
}
