//! `tenants`: one row per tenant (single mode: the default tenant only; multi mode: the
//! configured slugs and the \[EXT\] tenants provisioned through `/platform/tenants`).

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::db::ConnExt;
use crate::tenancy::Tenant;

/// A tenant row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRow {
    /// Tenant id (a ULID; the default tenant's is fixed).
    pub id: String,
    /// URL slug (`/t/<slug>`), unique.
    pub slug: String,
    /// Display name.
    pub display_name: String,
    /// The reseller's own id, unique when set.
    pub external_id: Option<String>,
    /// Creation time (ISO).
    pub created_at: String,
}

/// Column list matching [`TenantRow::from_row`].
pub const COLS: &str = "id, slug, display_name, external_id, created_at";

impl TenantRow {
    /// Reads a row selected with [`COLS`].
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<TenantRow> {
        Ok(TenantRow {
            id: r.get(0)?,
            slug: r.get(1)?,
            display_name: r.get(2)?,
            external_id: r.get(3)?,
            created_at: r.get(4)?,
        })
    }

    /// The routing identity (`{id, slug}`) of this tenant.
    pub fn tenant(&self) -> Tenant {
        Tenant {
            id: self.id.clone(),
            slug: self.slug.clone(),
        }
    }
}

/// The tenant with slug `slug`.
pub fn find_by_slug(c: &Connection, slug: &str) -> rusqlite::Result<Option<Tenant>> {
    c.row(
        "SELECT id, slug FROM tenants WHERE slug = ?1",
        [slug],
        |r| {
            Ok(Tenant {
                id: r.get(0)?,
                slug: r.get(1)?,
            })
        },
    )
    .optional()
}

/// The tenant with id `id`.
pub fn get(c: &Connection, id: &str) -> rusqlite::Result<Option<TenantRow>> {
    c.row(
        &format!("SELECT {COLS} FROM tenants WHERE id = ?1"),
        [id],
        TenantRow::from_row,
    )
    .optional()
}

/// The tenant with external id `external_id`.
pub fn find_by_external_id(
    c: &Connection,
    external_id: &str,
) -> rusqlite::Result<Option<TenantRow>> {
    c.row(
        &format!("SELECT {COLS} FROM tenants WHERE external_id = ?1"),
        [external_id],
        TenantRow::from_row,
    )
    .optional()
}

/// Inserts the tenant unless its slug exists. Returns whether a row was inserted.
pub fn insert_if_absent(
    c: &Connection,
    id: &str,
    slug: &str,
    display_name: &str,
    created_at: &str,
) -> rusqlite::Result<bool> {
    Ok(c.exec(
        "INSERT OR IGNORE INTO tenants (id, slug, display_name, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, slug, display_name, created_at],
    )? > 0)
}

/// Inserts `t` (the caller has checked that its slug and external id are free; a clash
/// is a constraint error).
pub fn insert(c: &Connection, t: &TenantRow) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO tenants (id, slug, display_name, external_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![t.id, t.slug, t.display_name, t.external_id, t.created_at],
    )?;
    Ok(())
}

/// One page of tenants, oldest first (`created_at`, then `id`): at most `limit` rows
/// after skipping `offset`.
pub fn list_page(c: &Connection, limit: i64, offset: i64) -> rusqlite::Result<Vec<TenantRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM tenants ORDER BY created_at, id LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = st.query_map(params![limit, offset], TenantRow::from_row)?;
    rows.collect()
}

/// The number of tenants.
pub fn count(c: &Connection) -> rusqlite::Result<i64> {
    c.row("SELECT COUNT(*) FROM tenants", [], |r| r.get(0))
}

/// The ids of every tenant, oldest first.
pub fn ids(c: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare_cached("SELECT id FROM tenants ORDER BY created_at, id")?;
    let rows = st.query_map([], |r| r.get(0))?;
    rows.collect()
}
