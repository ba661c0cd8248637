//! `tenants`: one row per tenant (single mode: the default tenant only).

use rusqlite::{params, Connection, OptionalExtension};

use crate::db::ConnExt;
use crate::tenancy::Tenant;

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

/// The ids of every tenant, oldest first.
pub fn ids(c: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare_cached("SELECT id FROM tenants ORDER BY created_at, id")?;
    let rows = st.query_map([], |r| r.get(0))?;
    rows.collect()
}
