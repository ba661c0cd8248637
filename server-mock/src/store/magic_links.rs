//! `magic_links`: single-use sign-in / invite links (API.md §2). Only the SHA-256 of the
//! token is stored.

use rusqlite::{params, Connection};

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
