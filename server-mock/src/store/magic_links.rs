//! `magic_links`: single-use sign-in / invite links (API.md §2). Only the SHA-256 of the
//! token is stored.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::db::ConnExt;

/// A magic link to insert.
#[derive(Debug, Clone)]
pub struct NewMagicLink<'a> {
    /// Link id.
    pub id: &'a str,
    /// SHA-256 hex of the token.
    pub token_hash: &'a str,
    /// A [`crate::mail::purpose`] value.
    pub purpose: &'a str,
    /// Admin subject (exactly one of admin/partner is set).
    pub admin_id: Option<&'a str>,
    /// Partner subject.
    pub partner_id: Option<&'a str>,
    /// Creation time (ISO).
    pub created_at: &'a str,
    /// Expiry (ISO).
    pub expires_at: &'a str,
}

/// Inserts a magic link.
pub fn insert(c: &Connection, tenant_id: &str, m: &NewMagicLink<'_>) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO magic_links (id, tenant_id, token_hash, purpose, admin_id, partner_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            m.id,
            tenant_id,
            m.token_hash,
            m.purpose,
            m.admin_id,
            m.partner_id,
            m.created_at,
            m.expires_at
        ],
    )?;
    Ok(())
}

/// A stored magic link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MagicLink {
    /// Link id.
    pub id: String,
    /// Admin subject.
    pub admin_id: Option<String>,
    /// Partner subject.
    pub partner_id: Option<String>,
    /// Expiry (ISO).
    pub expires_at: String,
    /// When it was used (single use).
    pub used_at: Option<String>,
}

const COLS: &str = "id, admin_id, partner_id, expires_at, used_at";

impl MagicLink {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<MagicLink> {
        Ok(MagicLink {
            id: r.get(0)?,
            admin_id: r.get(1)?,
            partner_id: r.get(2)?,
            expires_at: r.get(3)?,
            used_at: r.get(4)?,
        })
    }
}

/// The link of `tenant_id` whose token hashes to `token_hash`.
pub fn find_by_hash(
    c: &Connection,
    tenant_id: &str,
    token_hash: &str,
) -> rusqlite::Result<Option<MagicLink>> {
    c.row(
        &format!("SELECT {COLS} FROM magic_links WHERE token_hash = ?1 AND tenant_id = ?2"),
        params![token_hash, tenant_id],
        MagicLink::from_row,
    )
    .optional()
}

/// Marks link `id` used at `now`.
pub fn mark_used(c: &Connection, id: &str, now: &str) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE magic_links SET used_at = ?1 WHERE id = ?2",
        params![now, id],
    )
}
