//! Domain logic that several routes (and the seed) share, on typed values: it takes a
//! `&Connection` inside the request's one job, calls [`crate::store`] for every read and
//! write, records webhook events with [`crate::outbox::emit`], and returns typed results
//! or an [`crate::error::ApiError`]. Routes call these modules, never each other.
//! (The attribution engine lives in [`crate::engine`] / [`crate::attribution`].)
pub mod admins;
pub mod api_keys;
pub mod grants;
pub mod partners;
pub mod payouts;
pub mod postbacks;
pub mod programs;
pub mod snapshots;
pub mod tenants;

/// The check before a reinstate, shared by admins and partners: from the row's
/// `revoked_at` (`None` = no such row) → 404 `not_found`, 409 `not_revoked`, or `Ok`.
pub(crate) fn require_revoked(revoked_at: Option<Option<String>>) -> crate::error::ApiResult<()> {
    match revoked_at {
        None => Err(crate::error::ApiError::not_found()),
        Some(None) => Err(crate::error::ApiError::conflict("not_revoked")),
        Some(Some(_)) => Ok(()),
    }
}
