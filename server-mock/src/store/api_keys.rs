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

/// A key to insert.
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    /// Key id.
    pub id: &'a str,
    /// `admin`, `scoped` or `partner`.
    pub kind: &'a str,
    /// The owning partner (partner keys).
    pub partner_id: Option<&'a str>,
    /// First 8 characters of the plaintext.
    pub prefix: &'a str,
    /// SHA-256 hex of the plaintext.
    pub key_hash: &'a str,
    /// Label.
    pub label: Option<&'a str>,
    /// Scopes (scoped keys), stored as a JSON array.
    pub scopes: Option<&'a [String]>,
    /// \[EXT\] allowlist, stored as a JSON array (`None` or empty: unrestricted).
    pub allowed_ips: Option<&'a [String]>,
    /// Creation time (ISO).
    pub created_at: &'a str,
}

/// Inserts a key.
pub fn insert(c: &Connection, tenant_id: &str, k: &NewKey<'_>) -> rusqlite::Result<()> {
    let to_json = |l: &[String]| serde_json::Value::from(l.to_vec()).to_string();
    let scopes = k.scopes.map(to_json);
    let ips = k.allowed_ips.filter(|l| !l.is_empty()).map(to_json);
    c.exec(
        "INSERT INTO api_keys (id, tenant_id, kind, partner_id, prefix, key_hash, label, scopes, allowed_ips, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            k.id,
            tenant_id,
            k.kind,
            k.partner_id,
            k.prefix,
            k.key_hash,
            k.label,
            scopes,
            ips,
            k.created_at
        ],
    )?;
    Ok(())
}

/// A key as listed (never its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// Key id.
    pub id: String,
    /// First 8 characters of the plaintext.
    pub prefix: String,
    /// Label.
    pub label: Option<String>,
    /// Scopes (scoped keys; empty otherwise).
    pub scopes: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last use.
    pub last_used_at: Option<String>,
    /// Revocation time.
    pub revoked_at: Option<String>,
    /// \[EXT\] allowlist (empty: unrestricted).
    pub allowed_ips: Vec<String>,
}

const ROW_COLS: &str =
    "id, prefix, label, scopes, created_at, last_used_at, revoked_at, allowed_ips";

impl KeyRow {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<KeyRow> {
        let list = |s: Option<String>| -> Vec<String> {
            s.and_then(|s| serde_json::from_str(&s).ok())
                .unwrap_or_default()
        };
        Ok(KeyRow {
            id: r.get(0)?,
            prefix: r.get(1)?,
            label: r.get(2)?,
            scopes: list(r.get(3)?),
            created_at: r.get(4)?,
            last_used_at: r.get(5)?,
            revoked_at: r.get(6)?,
            allowed_ips: list(r.get(7)?),
        })
    }
}

/// The scoped keys of `tenant_id`, newest first.
pub fn list_scoped(c: &Connection, tenant_id: &str) -> rusqlite::Result<Vec<KeyRow>> {
    let sql = format!(
        "SELECT {ROW_COLS} FROM api_keys WHERE tenant_id = ?1 AND kind = 'scoped'
         ORDER BY created_at DESC, id DESC"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map([tenant_id], KeyRow::from_row)?;
    rows.collect()
}

/// The keys of partner `partner_id`, newest first.
pub fn list_for_partner(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
) -> rusqlite::Result<Vec<KeyRow>> {
    let sql = format!(
        "SELECT {ROW_COLS} FROM api_keys WHERE tenant_id = ?1 AND kind = 'partner' AND partner_id = ?2
         ORDER BY created_at DESC, id DESC"
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![tenant_id, partner_id], KeyRow::from_row)?;
    rows.collect()
}
