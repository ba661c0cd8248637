//! `identities`: the (click, user) stitches of `POST /attribution/identify` (API.md §3.3),
//! one per (tenant, user, click).

use rusqlite::{params, Connection};

use crate::db::ConnExt;

/// Inserts the stitch unless the pair exists; true when a row was inserted (a first
/// stitch).
pub fn insert_if_new(
    c: &Connection,
    id: &str,
    tenant_id: &str,
    click_id: &str,
    user_id: &str,
    created_at: &str,
) -> rusqlite::Result<bool> {
    let n = c.exec(
        "INSERT OR IGNORE INTO identities (id, tenant_id, click_id, user_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, tenant_id, click_id, user_id, created_at],
    )?;
    Ok(n > 0)
}

/// True when `user_id` has at least one identity.
pub fn user_has_any(c: &Connection, tenant_id: &str, user_id: &str) -> rusqlite::Result<bool> {
    c.row(
        "SELECT EXISTS(SELECT 1 FROM identities WHERE tenant_id = ?1 AND user_id = ?2)",
        params![tenant_id, user_id],
        |r| r.get(0),
    )
}

/// The users stitched to `click_id`, sorted.
pub fn users_of_click(
    c: &Connection,
    tenant_id: &str,
    click_id: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare_cached(
        "SELECT DISTINCT user_id FROM identities WHERE tenant_id = ?1 AND click_id = ?2 ORDER BY user_id",
    )?;
    let rows = st.query_map(params![tenant_id, click_id], |r| r.get(0))?;
    rows.collect()
}
