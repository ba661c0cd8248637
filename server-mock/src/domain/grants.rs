//! Program grants (API.md §3.1): which partner may promote which program.
//!
//! Choices where API.md is silent: `GET /partners/{id}/campaigns` lists every program of
//! the tenant with `granted` true/false (grant fields null when not granted); adding
//! answers `added` = the ids newly granted (valid ids already granted are not repeated,
//! unknown ids are skipped; none valid → 404 `no_valid_campaigns`).

use rusqlite::Connection;

use crate::error::{ApiError, ApiResult};
use crate::store::grants::{self as store, Campaign};
use crate::store::programs;

/// Grants `program_id` to every partner of the tenant (source `all`), keeping existing
/// grants. Errors: 500.
pub fn grant_to_all_partners(
    c: &Connection,
    tenant_id: &str,
    program_id: &str,
    now: &str,
) -> ApiResult<()> {
    for partner in crate::store::partners::ids(c, tenant_id)? {
        store::insert(c, tenant_id, &partner, program_id, "all", now)?;
    }
    Ok(())
}

/// 404 `code` unless partner `partner_id` exists in the tenant.
pub fn require_partner(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    code: &'static str,
) -> ApiResult<()> {
    if crate::store::partners::exists(c, tenant_id, partner_id)? {
        Ok(())
    } else {
        Err(ApiError::not_found_code(code))
    }
}

/// Every program of the tenant with `partner_id`'s grant state. Errors: 404 `not_found`
/// (no such partner).
pub fn campaigns(c: &Connection, tenant_id: &str, partner_id: &str) -> ApiResult<Vec<Campaign>> {
    require_partner(c, tenant_id, partner_id, "not_found")?;
    Ok(store::campaigns(c, tenant_id, partner_id)?)
}

/// Grants the programs `program_ids` (source `manual`) → the ids newly granted, in the
/// order given. Errors: 404 `not_found` (no such partner), 404 `no_valid_campaigns`
/// (none of the ids is a program of the tenant).
pub fn add(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    program_ids: &[String],
    now: &str,
) -> ApiResult<Vec<String>> {
    require_partner(c, tenant_id, partner_id, "not_found")?;
    let mut valid: Vec<&String> = Vec::new();
    for id in program_ids {
        if !valid.contains(&id) && programs::exists(c, tenant_id, id)? {
            valid.push(id);
        }
    }
    if valid.is_empty() {
        return Err(ApiError::not_found_code("no_valid_campaigns"));
    }
    let mut added = Vec::new();
    for id in valid {
        if store::insert(c, tenant_id, partner_id, id, "manual", now)? {
            added.push(id.clone());
        }
    }
    Ok(added)
}

/// Removes the grant of `program_id` to `partner_id`. Errors: 404 `grant_not_found`.
pub fn remove(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    program_id: &str,
) -> ApiResult<()> {
    if store::delete(c, tenant_id, partner_id, program_id)? == 0 {
        return Err(ApiError::not_found_code("grant_not_found"));
    }
    Ok(())
}
