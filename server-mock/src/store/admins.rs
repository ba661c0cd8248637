//! `admins`: the admins of a tenant (API.md §3.7).

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::auth::AdminInfo;
use crate::db::ConnExt;

/// An admin row.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Email (lower-cased).
    pub email: String,
    /// Name.
    pub name: String,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
    /// Activated (first magic-link sign-in).
    pub activated_at: Option<String>,
    /// Revoked.
    pub revoked_at: Option<String>,
}

/// Column list matching [`Admin::from_row`].
pub const COLS: &str =
    "id, tenant_id, email, name, created_at, updated_at, activated_at, revoked_at";

impl Admin {
    /// Reads a row selected with [`COLS`].
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Admin> {
        Ok(Admin {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            email: r.get(2)?,
            name: r.get(3)?,
            created_at: r.get(4)?,
            updated_at: r.get(5)?,
            activated_at: r.get(6)?,
            revoked_at: r.get(7)?,
        })
    }
}

/// Admin `id` of `tenant_id`.
pub fn get(c: &Connection, tenant_id: &str, id: &str) -> rusqlite::Result<Option<Admin>> {
    c.row(
        &format!("SELECT {COLS} FROM admins WHERE tenant_id = ?1 AND id = ?2"),
        params![tenant_id, id],
        Admin::from_row,
    )
    .optional()
}

/// The admin of `tenant_id` with (lower-cased) `email`.
pub fn get_by_email(
    c: &Connection,
    tenant_id: &str,
    email: &str,
) -> rusqlite::Result<Option<Admin>> {
    c.row(
        &format!("SELECT {COLS} FROM admins WHERE tenant_id = ?1 AND email = ?2"),
        params![tenant_id, email],
        Admin::from_row,
    )
    .optional()
}

/// Every admin of `tenant_id`, oldest first.
pub fn list(c: &Connection, tenant_id: &str) -> rusqlite::Result<Vec<Admin>> {
    let mut s = c.prepare_cached(&format!(
        "SELECT {COLS} FROM admins WHERE tenant_id = ?1 ORDER BY created_at, id"
    ))?;
    let rows = s.query_map([tenant_id], Admin::from_row)?;
    rows.collect()
}

/// Inserts a pending admin created at `now`.
pub fn insert(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    email: &str,
    name: &str,
    now: &str,
) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO admins (id, tenant_id, email, name, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![id, tenant_id, email, name, now],
    )?;
    Ok(())
}

/// Marks admin `id` activated at `now`.
pub fn set_activated(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE admins SET activated_at = ?1, updated_at = ?1 WHERE id = ?2 AND tenant_id = ?3",
        params![now, id, tenant_id],
    )
}

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
