//! `mail`: the dev mailbox (`GET /dev/mailbox`); the reference server sends no mail.

use rusqlite::{params, Connection};

use crate::db::ConnExt;

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    /// Message id.
    pub id: &'a str,
    /// Recipient.
    pub to: &'a str,
    /// Subject line.
    pub subject: &'a str,
    /// Plain-text body.
    pub body: &'a str,
    /// A [`crate::mail::purpose`] value.
    pub purpose: &'a str,
    /// The magic token, when the mail carries one.
    pub token: Option<&'a str>,
    /// The magic URL, when the mail carries one.
    pub url: Option<&'a str>,
    /// When it was sent (ISO).
    pub created_at: &'a str,
}

/// Stores a message in `tenant_id`'s mailbox.
pub fn insert(c: &Connection, tenant_id: &str, m: &NewMail<'_>) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO mail (id, tenant_id, to_addr, subject, body, purpose, token, url, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            m.id,
            tenant_id,
            m.to,
            m.subject,
            m.body,
            m.purpose,
            m.token,
            m.url,
            m.created_at
        ],
    )?;
    Ok(())
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMail {
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// A [`crate::mail::purpose`] value (or `partner_revoked`).
    pub purpose: String,
    /// The magic token, when the mail carries one.
    pub token: Option<String>,
    /// The magic URL, when the mail carries one.
    pub url: Option<String>,
}

/// The messages of `tenant_id`, oldest first, only those to `to` (case-insensitive,
/// pass it lower-cased) when given.
pub fn list(
    c: &Connection,
    tenant_id: &str,
    to: Option<&str>,
) -> rusqlite::Result<Vec<StoredMail>> {
    let mut stmt = c.prepare_cached(
        "SELECT to_addr, subject, body, purpose, token, url FROM mail
         WHERE tenant_id = ?1 AND (?2 IS NULL OR lower(to_addr) = ?2) ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![tenant_id, to], |r| {
        Ok(StoredMail {
            to: r.get(0)?,
            subject: r.get(1)?,
            body: r.get(2)?,
            purpose: r.get(3)?,
            token: r.get(4)?,
            url: r.get(5)?,
        })
    })?;
    rows.collect()
}
