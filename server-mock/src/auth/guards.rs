//! Guards on [`Auth`] (handlers call one first), including the `/platform/*` guard.
//!
//! Every guard first answers 401 `unauthorized` for no/invalid credentials and then, for
//! a key with an \[EXT\] IP allowlist used from another address, 403 `ip_not_allowed`
//! (after authentication, before role checks).

use super::principal::{AdminSource, Auth, Principal, Scope};
use crate::error::{ApiError, ApiResult};

impl Auth {
    /// 401 unless authenticated for a tenant route; 403 `ip_not_allowed` on an allowlist
    /// miss.
    pub fn require_authenticated(&self) -> ApiResult<&Principal> {
        match self.principal {
            Principal::Anonymous | Principal::Invalid | Principal::Platform => {
                Err(ApiError::unauthorized())
            }
            _ if self.ip_denied => Err(ApiError::forbidden_code("ip_not_allowed")),
            _ => Ok(&self.principal),
        }
    }

    /// \[EXT\] `/platform/*`: the platform key only (API.md §5). Any other credential —
    /// admin keys included — none, or a server without a platform key → 401
    /// `unauthorized`. (The key itself was compared in constant time by
    /// [`super::resolve_auth`]; the routes exist only in multi mode.)
    pub fn require_platform(&self) -> ApiResult<()> {
        match self.principal {
            Principal::Platform => Ok(()),
            _ => Err(ApiError::unauthorized()),
        }
    }

    /// Admins only (others 403 `forbidden`).
    pub fn require_admin(&self) -> ApiResult<&AdminSource> {
        match self.require_authenticated()? {
            Principal::Admin(src) => Ok(src),
            _ => Err(ApiError::forbidden()),
        }
    }

    /// Admins, or scoped keys holding `scope` (else 403 `forbidden_scope` with
    /// `required`); partners → 403 `forbidden`.
    pub fn require_scope(&self, scope: Scope) -> ApiResult<()> {
        match self.require_authenticated()? {
            Principal::Admin(_) => Ok(()),
            Principal::Scoped { scopes, .. } => {
                if scopes.iter().any(|s| s == scope.as_str()) {
                    Ok(())
                } else {
                    Err(ApiError::forbidden_code("forbidden_scope")
                        .field("required", scope.as_str()))
                }
            }
            _ => Err(ApiError::forbidden()),
        }
    }

    /// Admins, or the partner `partner_id` itself (others 403 `forbidden`).
    pub fn require_admin_or_partner(&self, partner_id: &str) -> ApiResult<()> {
        match self.require_authenticated()? {
            Principal::Admin(_) => Ok(()),
            Principal::Partner { partner_id: p, .. } if p == partner_id => Ok(()),
            _ => Err(ApiError::forbidden()),
        }
    }

    /// Admins, scoped keys holding `scope`, or the partner `partner_id` itself.
    pub fn require_scope_or_partner(&self, scope: Scope, partner_id: &str) -> ApiResult<()> {
        match self.require_authenticated()? {
            Principal::Partner { partner_id: p, .. } if p == partner_id => Ok(()),
            Principal::Partner { .. } => Err(ApiError::forbidden()),
            _ => self.require_scope(scope),
        }
    }
}
