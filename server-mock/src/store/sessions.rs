//! `sessions`: admin and partner sessions (API.md §2). Only the SHA-256 of the token is
//! stored.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::db::ConnExt;

/// What credential resolution needs of a session row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCredential {
    /// Session id.
    pub id: String,
    /// The admin, for admin sessions.
    pub admin_id: Option<String>,
    /// The partner, for partner sessions.
    pub partner_id: Option<String>,
    /// Expiry (ISO).
    pub expires_at: String,
    /// Set by sign-out, or by revoking the admin/partner.
    pub revoked_at: Option<String>,
    /// Last use (refreshed at most once a minute).
    pub last_used_at: Option<String>,
}

const CREDENTIAL_COLS: &str = "id, admin_id, partner_id, expires_at, revoked_at, last_used_at";

impl SessionCredential {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<SessionCredential> {
        Ok(SessionCredential {
            id: r.get(0)?,
            admin_id: r.get(1)?,
            partner_id: r.get(2)?,
            expires_at: r.get(3)?,
            revoked_at: r.get(4)?,
            last_used_at: r.get(5)?,
        })
    }
}

/// A session to insert.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// Session id.
    pub id: &'a str,
    /// SHA-256 hex of the token.
    pub token_hash: &'a str,
    /// Admin owner (exactly one of admin/partner is set).
    pub admin_id: Option<&'a str>,
    /// Partner owner.
    pub partner_id: Option<&'a str>,
    /// Creation time (ISO).
    pub created_at: &'a str,
    /// Expiry (ISO).
    pub expires_at: &'a str,
}

/// The session of `tenant_id` whose token hashes to `token_hash`.
pub fn find_by_hash(
    c: &Connection,
    tenant_id: &str,
    token_hash: &str,
) -> rusqlite::Result<Option<SessionCredential>> {
    let sql =
        format!("SELECT {CREDENTIAL_COLS} FROM sessions WHERE token_hash = ?1 AND tenant_id = ?2");
    c.row(
        &sql,
        params![token_hash, tenant_id],
        SessionCredential::from_row,
    )
    .optional()
}

/// Inserts a session.
pub fn insert(c: &Connection, tenant_id: &str, s: &NewSession<'_>) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO sessions (id, tenant_id, token_hash, admin_id, partner_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            s.id,
            tenant_id,
            s.token_hash,
            s.admin_id,
            s.partner_id,
            s.created_at,
            s.expires_at
        ],
    )?;
    Ok(())
}

/// Sets `last_used_at = now` on session `id` unless it is already later than
/// `threshold`. Returns whether the row changed.
pub fn touch_last_used(
    c: &Connection,
    id: &str,
    now: &str,
    threshold: &str,
) -> rusqlite::Result<bool> {
    Ok(c.exec(
        "UPDATE sessions SET last_used_at = ?1 WHERE id = ?2
         AND (last_used_at IS NULL OR last_used_at <= ?3)",
        params![now, id, threshold],
    )? > 0)
}

/// Revokes the live session whose token hashes to `token_hash` (sign-out).
pub fn revoke_by_hash(
    c: &Connection,
    tenant_id: &str,
    token_hash: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE sessions SET revoked_at = ?1
         WHERE token_hash = ?2 AND tenant_id = ?3 AND revoked_at IS NULL",
        params![now, token_hash, tenant_id],
    )
}

/// Revokes every live session of partner `partner_id`.
pub fn revoke_for_partner(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE sessions SET revoked_at = ?1
         WHERE tenant_id = ?2 AND partner_id = ?3 AND revoked_at IS NULL",
        params![now, tenant_id, partner_id],
    )
}

/// Revokes every live session of admin `admin_id`.
pub fn revoke_for_admin(
    c: &Connection,
    tenant_id: &str,
    admin_id: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE sessions SET revoked_at = ?1
         WHERE tenant_id = ?2 AND admin_id = ?3 AND revoked_at IS NULL",
        params![now, tenant_id, admin_id],
    )
}
