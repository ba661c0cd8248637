//! `api_keys`: admin, scoped and partner API keys (API.md §2, §3.7). Only the SHA-256 of
//! a key is stored, with its first 8 characters (`prefix`) for lookup and display.

use rusqlite::{params, Connection, Row};

use crate::db::ConnExt;

/// What credential resolution needs of a key row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCredential {
    /// Key id.
    pub id: String,
    /// SHA-256 hex of the plaintext.
    pub key_hash: String,
    /// `admin`, `scoped` or `partner`.
    pub kind: String,
    /// The owning partner (partner keys).
    pub partner_id: Option<String>,
    /// JSON array of scopes (scoped keys).
    pub scopes: Option<String>,
    /// \[EXT\] JSON array of CIDRs, NULL when unrestricted.
    pub allowed_ips: Option<String>,
    /// When the key was revoked.
    pub revoked_at: Option<String>,
    /// When the key was last used (refreshed at most once a minute).
    pub last_used_at: Option<String>,
}

const CREDENTIAL_COLS: &str =
    "id, key_hash, kind, partner_id, scopes, allowed_ips, revoked_at, last_used_at";

impl KeyCredential {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<KeyCredential> {
        Ok(KeyCredential {
            id: r.get(0)?,
            key_hash: r.get(1)?,
            kind: r.get(2)?,
            partner_id: r.get(3)?,
            scopes: r.get(4)?,
            allowed_ips: r.get(5)?,
            revoked_at: r.get(6)?,
            last_used_at: r.get(7)?,
        })
    }
}

/// Every key of `tenant_id` whose prefix is `prefix` (the caller compares hashes in
/// constant time).
pub fn find_by_prefix(
    c: &Connection,
    tenant_id: &str,
    prefix: &str,
) -> rusqlite::Result<Vec<KeyCredential>> {
    let sql =
        format!("SELECT {CREDENTIAL_COLS} FROM api_keys WHERE tenant_id = ?1 AND prefix = ?2");
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![tenant_id, prefix], KeyCredential::from_row)?;
    rows.collect()
}

/// Sets `last_used_at = now` on key `id` unless it is already later than `threshold`
/// (so a burst writes once). Returns whether the row changed.
pub fn touch_last_used(
    c: &Connection,
    id: &str,
    now: &str,
    threshold: &str,
) -> rusqlite::Result<bool> {
    Ok(c.exec(
        "UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2
         AND (last_used_at IS NULL OR last_used_at <= ?3)",
        params![now, id, threshold],
    )? > 0)
}

/// Revokes every live key of partner `partner_id` at `now`.
pub fn revoke_for_partner(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE api_keys SET revoked_at = ?1
         WHERE tenant_id = ?2 AND partner_id = ?3 AND revoked_at IS NULL",
        params![now, tenant_id, partner_id],
    )
}

/// `(partner_id, revoked_at)` of key `id` of `tenant_id`, `None` when there is none.
pub fn owner_and_revoked(
    c: &Connection,
    tenant_id: &str,
    id: &str,
) -> rusqlite::Result<Option<(Option<String>, Option<String>)>> {
    use rusqlite::OptionalExtension;
    c.row(
        "SELECT partner_id, revoked_at FROM api_keys WHERE tenant_id = ?1 AND id = ?2",
        params![tenant_id, id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// Revokes key `id` at `now` unless it is already revoked.
pub fn revoke(c: &Connection, tenant_id: &str, id: &str, now: &str) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE api_keys SET revoked_at = ?1 WHERE tenant_id = ?2 AND id = ?3 AND revoked_at IS NULL",
        params![now, tenant_id, id],
    )
}
