//! `partner_programs`: which partner may promote which program (API.md §3.1 grants),
//! and the partner look-ups grants need.

use rusqlite::{params, Connection, Row};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::ConnExt;
use crate::util::new_id;

/// Inserts the grant of `program_id` to `partner_id` (`source`: `manual`, `all`, …)
/// unless it exists; true when it was new.
pub fn insert(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    program_id: &str,
    source: &str,
    now: &str,
) -> rusqlite::Result<bool> {
    let n = c.exec(
        "INSERT OR IGNORE INTO partner_programs (id, tenant_id, partner_id, program_id, grant_source, granted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![format!("pc_{}", new_id()), tenant_id, partner_id, program_id, source, now],
    )?;
    Ok(n > 0)
}

/// Deletes the grant; the number of rows deleted (0 when there was none).
pub fn delete(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    program_id: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "DELETE FROM partner_programs WHERE tenant_id = ?1 AND partner_id = ?2 AND program_id = ?3",
        params![tenant_id, partner_id, program_id],
    )
}

/// True when `partner_id` holds a grant of `program_id`.
pub fn is_granted(c: &Connection, partner_id: &str, program_id: &str) -> rusqlite::Result<bool> {
    c.row(
        "SELECT EXISTS(SELECT 1 FROM partner_programs WHERE partner_id = ?1 AND program_id = ?2)",
        params![partner_id, program_id],
        |r| r.get(0),
    )
}

/// A program of the tenant with whether a partner holds it (`GET /partners/{id}/campaigns`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    /// Program id.
    pub id: String,
    /// Program name.
    pub name: String,
    /// Program destination.
    pub destination_url: String,
    /// Comma-separated deep-link hosts, or null.
    #[schema(required = true)]
    pub deep_link_allowed_domains: Option<String>,
    /// True when the partner holds a grant of this program.
    pub granted: bool,
    /// How the grant came about (`manual`, `all`, …), null when not granted.
    #[schema(required = true)]
    pub grant_source: Option<String>,
    /// When it was granted, null when not granted.
    #[schema(required = true)]
    pub granted_at: Option<String>,
}

fn campaign_row(r: &Row<'_>) -> rusqlite::Result<Campaign> {
    let source: Option<String> = r.get(4)?;
    Ok(Campaign {
        id: r.get(0)?,
        name: r.get(1)?,
        destination_url: r.get(2)?,
        deep_link_allowed_domains: r.get(3)?,
        granted: source.is_some(),
        grant_source: source,
        granted_at: r.get(5)?,
    })
}

/// Every program of the tenant with `partner_id`'s grant state, oldest first.
pub fn campaigns(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
) -> rusqlite::Result<Vec<Campaign>> {
    let mut st = c.prepare_cached(
        "SELECT p.id, p.name, p.destination_url, p.deep_link_allowed_domains, g.grant_source, g.granted_at
         FROM programs p LEFT JOIN partner_programs g ON g.program_id = p.id AND g.partner_id = ?2
         WHERE p.tenant_id = ?1 ORDER BY p.created_at, p.id",
    )?;
    let rows = st.query_map(params![tenant_id, partner_id], campaign_row)?;
    rows.collect()
}
