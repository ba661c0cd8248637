//! `partners`: the partners of a tenant (API.md §3.1).

use rusqlite::{params, Connection, OptionalExtension};

use crate::db::ConnExt;

/// `revoked_at` of partner `id` of `tenant_id`: `None` when there is no such partner,
/// `Some(None)` when it is active.
pub fn revoked_at(
    c: &Connection,
    tenant_id: &str,
    id: &str,
) -> rusqlite::Result<Option<Option<String>>> {
    c.row(
        "SELECT revoked_at FROM partners WHERE id = ?1 AND tenant_id = ?2",
        params![id, tenant_id],
        |r| r.get(0),
    )
    .optional()
}

/// True when partner `id` exists in `tenant_id` and is not revoked.
pub fn is_active(c: &Connection, tenant_id: &str, id: &str) -> rusqlite::Result<bool> {
    Ok(matches!(revoked_at(c, tenant_id, id)?, Some(None)))
}

/// Marks partner `id` revoked at `now` with an optional reason.
pub fn set_revoked(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    reason: Option<&str>,
    now: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE partners SET revoked_at = ?1, revoke_reason = ?2, updated_at = ?1
         WHERE id = ?3 AND tenant_id = ?4",
        params![now, reason, id, tenant_id],
    )
}

/// Clears the revocation (and its reason) of partner `id`.
pub fn clear_revoked(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE partners SET revoked_at = NULL, revoke_reason = NULL, updated_at = ?1
         WHERE id = ?2 AND tenant_id = ?3",
        params![now, id, tenant_id],
    )
}
