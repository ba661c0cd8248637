//! Sandbox fixture writes of the seed ([`crate::seed`]): partners, links and clicks as
//! plain rows with explicit (historical) times, which the API's own writes never take.
//! Programs and grants go through the programs code, events through
//! [`crate::attribution`], so every commission is one the engine computed.
//!
//! Merge note: these belong next to the partners / links / clicks stores once those
//! exist; they are here so the seed writes no SQL of its own.

use rusqlite::{params, Connection};

use crate::db::ConnExt;

/// A demo partner.
#[derive(Debug, Clone)]
pub struct FixturePartner<'a> {
    /// Partner id.
    pub id: &'a str,
    /// Tenant.
    pub tenant_id: &'a str,
    /// Email.
    pub email: &'a str,
    /// Display name.
    pub name: &'a str,
    /// CRM id.
    pub external_id: &'a str,
    /// Metadata object as JSON text.
    pub metadata: &'a str,
    /// ISO creation (and update) time.
    pub created_at: &'a str,
    /// ISO activation time, if activated.
    pub activated_at: Option<&'a str>,
    /// `(ISO revocation time, reason)`, if revoked.
    pub revoked: Option<(&'a str, &'a str)>,
}

/// Inserts a partner row.
pub fn insert_partner(c: &Connection, p: &FixturePartner<'_>) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO partners (id, tenant_id, email, name, external_id, metadata, created_at, updated_at,
            activated_at, revoked_at, revoke_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10)",
        params![
            p.id,
            p.tenant_id,
            p.email,
            p.name,
            p.external_id,
            p.metadata,
            p.created_at,
            p.activated_at,
            p.revoked.map(|r| r.0),
            p.revoked.map(|r| r.1),
        ],
    )?;
    Ok(())
}

/// Inserts a link row.
#[allow(clippy::too_many_arguments)]
pub fn insert_link(
    c: &Connection,
    id: &str,
    tenant_id: &str,
    link_key: &str,
    partner_id: &str,
    program_id: &str,
    destination_url: Option<&str>,
    created_at: &str,
) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO links (id, tenant_id, link_key, partner_id, program_id, destination_url, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, tenant_id, link_key, partner_id, program_id, destination_url, created_at],
    )?;
    Ok(())
}

/// A demo click on an existing link.
#[derive(Debug, Clone)]
pub struct FixtureClick<'a> {
    /// Click id (also the `cref` of its landing URL).
    pub id: &'a str,
    /// Tenant.
    pub tenant_id: &'a str,
    /// The link clicked (partner, program and key come from it).
    pub link_id: &'a str,
    /// Hashed IP.
    pub ip_hash: &'a str,
    /// User agent.
    pub user_agent: &'a str,
    /// Referer (`""` for none).
    pub referer: &'a str,
    /// `velocity` / `manual`, if flagged.
    pub fraud_flag: Option<&'a str>,
    /// ISO click (and creation) time.
    pub ts: &'a str,
}

/// Inserts a click on `link_id`; its landing URL is the link's (or program's)
/// destination with `?cref=<id>`.
pub fn insert_click(c: &Connection, k: &FixtureClick<'_>) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO clicks (id, tenant_id, link_id, link_key, partner_id, program_id, landing_url, ip_hash,
            user_agent, referer, fraud_flag, ts, created_at)
         SELECT ?1, ?2, l.id, l.link_key, l.partner_id, l.program_id,
                COALESCE(l.destination_url, p.destination_url) || '?cref=' || ?1, ?3, ?4, ?5, ?6, ?7, ?7
         FROM links l JOIN programs p ON p.id = l.program_id WHERE l.id = ?8",
        params![k.id, k.tenant_id, k.ip_hash, k.user_agent, k.referer, k.fraud_flag, k.ts, k.link_id],
    )?;
    Ok(())
}
