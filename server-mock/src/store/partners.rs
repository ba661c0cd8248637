//! `partners`: the partners of a tenant (API.md §3.1).

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::db::ConnExt;

/// A partner row.
#[derive(Debug, Clone)]
pub struct Partner {
    /// Id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Email (lower-cased).
    pub email: String,
    /// Name.
    pub name: String,
    /// \[EXT\] external id.
    pub external_id: Option<String>,
    /// Stripe Connect account.
    pub stripe_connect_account_id: Option<String>,
    /// Metadata object (JSON text).
    pub metadata: String,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
    /// Activated.
    pub activated_at: Option<String>,
    /// Revoked.
    pub revoked_at: Option<String>,
    /// Revoke reason.
    pub revoke_reason: Option<String>,
}

/// Column list matching [`Partner::from_row`].
pub const COLS: &str = "id, tenant_id, email, name, external_id, stripe_connect_account_id, metadata, created_at, updated_at, activated_at, revoked_at, revoke_reason";

impl Partner {
    /// Reads a row selected with [`COLS`].
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Partner> {
        Ok(Partner {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            email: r.get(2)?,
            name: r.get(3)?,
            external_id: r.get(4)?,
            stripe_connect_account_id: r.get(5)?,
            metadata: r.get(6)?,
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
            activated_at: r.get(9)?,
            revoked_at: r.get(10)?,
            revoke_reason: r.get(11)?,
        })
    }
}

/// Partner `id` of `tenant_id`.
pub fn get(c: &Connection, tenant_id: &str, id: &str) -> rusqlite::Result<Option<Partner>> {
    c.row(
        &format!("SELECT {COLS} FROM partners WHERE tenant_id = ?1 AND id = ?2"),
        params![tenant_id, id],
        Partner::from_row,
    )
    .optional()
}

/// The partner of `tenant_id` with (lower-cased) `email`.
pub fn get_by_email(
    c: &Connection,
    tenant_id: &str,
    email: &str,
) -> rusqlite::Result<Option<Partner>> {
    c.row(
        &format!("SELECT {COLS} FROM partners WHERE tenant_id = ?1 AND email = ?2"),
        params![tenant_id, email],
        Partner::from_row,
    )
    .optional()
}

/// Marks partner `id` activated at `now`.
pub fn set_activated(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE partners SET activated_at = ?1, updated_at = ?1 WHERE id = ?2 AND tenant_id = ?3",
        params![now, id, tenant_id],
    )
}

/// `revoked_at` of partner `id` of `tenant_id`: `None` when there is no such partner,
/// `Some(None)` when it is active.
pub fn revoked_at(
    c: &Connection,
    tenant_id: &str,
    id: &str,
) -> rusqlite::Result<Option<Option<String>>> {
    c.row(
        "SELECT revoked_at FROM partners WHERE id = ?1 AND tenant_id = ?2",
        params![id, tenant_id],
        |r| r.get(0),
    )
    .optional()
}

/// True when partner `id` exists in `tenant_id` and is not revoked.
pub fn is_active(c: &Connection, tenant_id: &str, id: &str) -> rusqlite::Result<bool> {
    Ok(matches!(revoked_at(c, tenant_id, id)?, Some(None)))
}

/// Marks partner `id` revoked at `now` with an optional reason.
pub fn set_revoked(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    reason: Option<&str>,
    now: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE partners SET revoked_at = ?1, revoke_reason = ?2, updated_at = ?1
         WHERE id = ?3 AND tenant_id = ?4",
        params![now, reason, id, tenant_id],
    )
}

/// Clears the revocation (and its reason) of partner `id`.
pub fn clear_revoked(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    now: &str,
) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE partners SET revoked_at = NULL, revoke_reason = NULL, updated_at = ?1
         WHERE id = ?2 AND tenant_id = ?3",
        params![now, id, tenant_id],
    )
}

/// The partner of `tenant_id` with \[EXT\] external id `external_id`.
pub fn get_by_external_id(
    c: &Connection,
    tenant_id: &str,
    external_id: &str,
) -> rusqlite::Result<Option<Partner>> {
    c.row(
        &format!("SELECT {COLS} FROM partners WHERE tenant_id = ?1 AND external_id = ?2"),
        params![tenant_id, external_id],
        Partner::from_row,
    )
    .optional()
}

/// One page of partners, newest first (`created_at DESC, id DESC`): at most `limit` rows
/// strictly after the keyset position `after` = (created_at, id), only those with
/// (lower-cased) `email` when given.
pub fn list_page(
    c: &Connection,
    tenant_id: &str,
    email: Option<&str>,
    after: Option<(&str, &str)>,
    limit: usize,
) -> rusqlite::Result<Vec<Partner>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {COLS} FROM partners
         WHERE tenant_id = ?1
           AND (?2 IS NULL OR email = ?2)
           AND (?3 IS NULL OR created_at < ?3 OR (created_at = ?3 AND id < ?4))
         ORDER BY created_at DESC, id DESC
         LIMIT ?5"
    ))?;
    let (ts, id) = after.unzip();
    let rows = stmt.query_map(
        params![tenant_id, email, ts, id, limit as i64],
        Partner::from_row,
    )?;
    rows.collect()
}

/// A partner to insert.
#[derive(Debug, Clone)]
pub struct NewPartner<'a> {
    /// Id.
    pub id: &'a str,
    /// Email (lower-cased).
    pub email: &'a str,
    /// Name.
    pub name: &'a str,
    /// \[EXT\] external id.
    pub external_id: Option<&'a str>,
    /// Metadata object (JSON text).
    pub metadata: &'a str,
    /// Creation time.
    pub created_at: &'a str,
    /// Activation time (`None`: pending until the invite is used).
    pub activated_at: Option<&'a str>,
}

/// Inserts a partner.
pub fn insert(c: &Connection, tenant_id: &str, p: &NewPartner<'_>) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO partners (id, tenant_id, email, name, external_id, metadata, created_at, updated_at, activated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
        params![
            p.id,
            tenant_id,
            p.email,
            p.name,
            p.external_id,
            p.metadata,
            p.created_at,
            p.activated_at
        ],
    )?;
    Ok(())
}

/// True when a partner of `tenant_id` has (lower-cased) `email`.
pub fn email_taken(c: &Connection, tenant_id: &str, email: &str) -> rusqlite::Result<bool> {
    Ok(c.row(
        "SELECT 1 FROM partners WHERE tenant_id = ?1 AND email = ?2",
        params![tenant_id, email],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

/// True when a partner of `tenant_id` has \[EXT\] external id `external_id`.
pub fn external_id_taken(
    c: &Connection,
    tenant_id: &str,
    external_id: &str,
) -> rusqlite::Result<bool> {
    Ok(c.row(
        "SELECT 1 FROM partners WHERE tenant_id = ?1 AND external_id = ?2",
        params![tenant_id, external_id],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

/// True when partner `partner_id` exists in the tenant (revoked or not).
pub fn exists(c: &Connection, tenant_id: &str, partner_id: &str) -> rusqlite::Result<bool> {
    c.row(
        "SELECT EXISTS(SELECT 1 FROM partners WHERE tenant_id = ?1 AND id = ?2)",
        params![tenant_id, partner_id],
        |r| r.get(0),
    )
}

/// The ids of every partner of the tenant (for a grant to all partners).
pub fn ids(c: &Connection, tenant_id: &str) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare_cached("SELECT id FROM partners WHERE tenant_id = ?1")?;
    let rows = st.query_map([tenant_id], |r| r.get(0))?;
    rows.collect()
}
