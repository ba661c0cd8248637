//! `links`: tracking links (API.md §3.3), one `linkKey` per tenant.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::ConnExt;

/// Columns read by [`from_row`].
pub const COLS: &str =
    "id, tenant_id, link_key, partner_id, program_id, destination_url, created_at";

/// A tracking link as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// Link id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// The key in `/r/{linkKey}`: 3–64 of `[A-Za-z0-9_-]`, unique in the tenant.
    #[schema(pattern = "^[A-Za-z0-9_-]{3,64}$")]
    pub link_key: String,
    /// The partner the link credits.
    pub partner_id: String,
    /// The program it promotes.
    pub program_id: String,
    /// Deep-link override of the program's destination, or null.
    #[schema(required = true)]
    pub destination_url: Option<String>,
    /// Creation time (ISO-8601).
    pub created_at: String,
}

/// A link row selected with [`COLS`].
pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Link> {
    Ok(Link {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        link_key: r.get(2)?,
        partner_id: r.get(3)?,
        program_id: r.get(4)?,
        destination_url: r.get(5)?,
        created_at: r.get(6)?,
    })
}

/// The links of `partner_id`, newest first.
pub fn list_for_partner(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
) -> rusqlite::Result<Vec<Link>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM links WHERE tenant_id = ?1 AND partner_id = ?2
         ORDER BY created_at DESC, id DESC"
    ))?;
    let rows = st.query_map(params![tenant_id, partner_id], from_row)?;
    rows.collect()
}

/// Link `id` (any tenant: ids are global).
pub fn get(c: &Connection, id: &str) -> rusqlite::Result<Option<Link>> {
    c.row(
        &format!("SELECT {COLS} FROM links WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// True when `link_key` is used in the tenant.
pub fn key_taken(c: &Connection, tenant_id: &str, link_key: &str) -> rusqlite::Result<bool> {
    c.row(
        "SELECT EXISTS(SELECT 1 FROM links WHERE tenant_id = ?1 AND link_key = ?2)",
        params![tenant_id, link_key],
        |r| r.get(0),
    )
}

/// Inserts link `l` (its `created_at` included).
pub fn insert(c: &Connection, l: &Link) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO links (id, tenant_id, link_key, partner_id, program_id, destination_url, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![l.id, l.tenant_id, l.link_key, l.partner_id, l.program_id, l.destination_url, l.created_at],
    )?;
    Ok(())
}

/// What a click on a link records and where it goes.
#[derive(Debug, Clone)]
pub struct ClickTarget {
    /// Link id.
    pub link_id: String,
    /// Partner credited.
    pub partner_id: String,
    /// Program promoted.
    pub program_id: String,
    /// The link's own destination, if any.
    pub link_destination: Option<String>,
    /// The program's destination.
    pub program_destination: Option<String>,
    /// True when the partner is revoked (its clicks are flagged `revoked`).
    pub partner_revoked: bool,
}

/// The [`ClickTarget`] of `link_key` in the tenant, `None` when there is no such link.
pub fn click_target(
    c: &Connection,
    tenant_id: &str,
    link_key: &str,
) -> rusqlite::Result<Option<ClickTarget>> {
    c.row(
        "SELECT l.id, l.partner_id, l.program_id, l.destination_url, p.destination_url,
                COALESCE(pa.revoked_at IS NOT NULL, 0)
         FROM links l LEFT JOIN programs p ON p.id = l.program_id
         LEFT JOIN partners pa ON pa.id = l.partner_id
         WHERE l.tenant_id = ?1 AND l.link_key = ?2",
        params![tenant_id, link_key],
        |r| {
            Ok(ClickTarget {
                link_id: r.get(0)?,
                partner_id: r.get(1)?,
                program_id: r.get(2)?,
                link_destination: r.get(3)?,
                program_destination: r.get(4)?,
                partner_revoked: r.get(5)?,
            })
        },
    )
    .optional()
}
