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
