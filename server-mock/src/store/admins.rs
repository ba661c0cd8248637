//! `admins`: the admins of a tenant (API.md §3.7).

use rusqlite::{params, Connection, OptionalExtension};

use crate::auth::AdminInfo;
use crate::db::ConnExt;

/// `{id, email, name}` of admin `id` of `tenant_id` when it exists and is not revoked.
pub fn active_info(
    c: &Connection,
    tenant_id: &str,
    id: &str,
) -> rusqlite::Result<Option<AdminInfo>> {
    let row: Option<(String, String, Option<String>)> = c
        .row(
            "SELECT email, name, revoked_at FROM admins WHERE id = ?1 AND tenant_id = ?2",
            params![id, tenant_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(match row {
        Some((email, name, None)) => Some(AdminInfo {
            id: id.to_owned(),
            email,
            name,
        }),
        _ => None,
    })
}

/// `revoked_at` of admin `id` of `tenant_id`: `None` when there is no such admin,
/// `Some(None)` when it is active.
pub fn revoked_at(
    c: &Connection,
    tenant_id: &str,
    id: &str,
) -> rusqlite::Result<Option<Option<String>>> {
    c.row(
        "SELECT revoked_at FROM admins WHERE id = ?1 AND tenant_id = ?2",
        params![id, tenant_id],
        |r| r.get(0),
    )
    .optional()
}

/// Number of activated, unrevoked admins of `tenant_id` other than `id`.
pub fn count_other_active(c: &Connection, tenant_id: &str, id: &str) -> rusqlite::Result<i64> {
    c.row(
        "SELECT COUNT(*) FROM admins WHERE tenant_id = ?1 AND id != ?2
         AND activated_at IS NOT NULL AND revoked_at IS NULL",
        params![tenant_id, id],
        |r| r.get(0),
    )
}

/// Marks admin `id` revoked at `now`.
pub fn set_revoked(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE admins SET revoked_at = ?1, updated_at = ?1 WHERE id = ?2 AND tenant_id = ?3",
        params![now, id, tenant_id],
    )
}

/// Clears the revocation of admin `id`.
pub fn clear_revoked(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE admins SET revoked_at = NULL, updated_at = ?1 WHERE id = ?2 AND tenant_id = ?3",
        params![now, id, tenant_id],
    )
}
