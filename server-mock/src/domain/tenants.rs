//! \[EXT\] Tenant provisioning (API.md §5, `/platform/*`): creating tenants, looking them
//! up, and the admin sign-in links a reseller hands to a tenant's owner.

use rusqlite::Connection;

use crate::error::{ApiError, ApiResult};
use crate::store;
use crate::store::tenants::TenantRow;

/// A validated `POST /platform/tenants` body.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// `[a-z0-9-]+`, 1–63 characters, not reserved ([`crate::tenancy::is_valid_slug`]).
    pub slug: String,
    /// Display name (trimmed, non-empty).
    pub display_name: String,
    /// The reseller's own id (trimmed, non-empty) or none.
    pub external_id: Option<String>,
}

/// Creates tenant `t` with id `id` at `now`. Errors: 409 `slug_taken`, 409
/// `external_id_taken`.
pub fn create(c: &Connection, id: &str, t: NewTenant, now: &str) -> ApiResult<TenantRow> {
    if store::tenants::find_by_slug(c, &t.slug)?.is_some() {
        return Err(ApiError::conflict("slug_taken"));
    }
    if let Some(ext) = &t.external_id {
        if store::tenants::find_by_external_id(c, ext)?.is_some() {
            return Err(ApiError::conflict("external_id_taken"));
        }
    }
    let row = TenantRow {
        id: id.to_owned(),
        slug: t.slug,
        display_name: t.display_name,
        external_id: t.external_id,
        created_at: now.to_owned(),
    };
    store::tenants::insert(c, &row)?;
    Ok(row)
}

/// The tenant with id `id`. Errors: 404 `not_found`.
pub fn require(c: &Connection, id: &str) -> ApiResult<TenantRow> {
    store::tenants::get(c, id)?.ok_or_else(ApiError::not_found)
}

/// The tenant with external id `external_id`. Errors: 404 `not_found`.
pub fn by_external_id(c: &Connection, external_id: &str) -> ApiResult<TenantRow> {
    store::tenants::find_by_external_id(c, external_id)?.ok_or_else(ApiError::not_found)
}

/// One page of tenants (oldest first) and the total count.
pub fn page(c: &Connection, limit: i64, offset: i64) -> ApiResult<(Vec<TenantRow>, i64)> {
    Ok((
        store::tenants::list_page(c, limit, offset)?,
        store::tenants::count(c)?,
    ))
}
