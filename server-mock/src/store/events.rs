//! `events`: conversion events (API.md §3.4), one row per `POST /attribution/events`.
//! `value` is the exact decimal string rounded to cents; `ts` the ISO event time.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::db::ConnExt;

/// A new event row (values already validated and rounded).
#[derive(Debug, Clone)]
pub struct NewEventRow<'a> {
    /// `evt` id.
    pub id: &'a str,
    /// Tenant.
    pub tenant_id: &'a str,
    /// `userId`.
    pub user_id: &'a str,
    /// `type`.
    pub event_type: &'a str,
    /// Exact decimal string, 2 dp (`"100.00"`).
    pub value: &'a str,
    /// Upper-cased ISO currency.
    pub currency: &'a str,
    /// The metadata object as JSON text, when given.
    pub metadata: Option<&'a str>,
    /// ISO event time.
    pub ts: &'a str,
    /// ISO processing time.
    pub created_at: &'a str,
}

/// A stored event as the engine reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// Event id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// `userId`.
    pub user_id: String,
    /// `type`.
    pub event_type: String,
    /// Exact decimal string.
    pub value: String,
    /// Currency.
    pub currency: String,
    /// ISO event time.
    pub ts: String,
}

/// Columns read by [`EventRow::from_row`].
pub const COLS: &str = "id, tenant_id, user_id, type, value, currency, ts";

impl EventRow {
    /// Reads a row selected with [`COLS`].
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<EventRow> {
        Ok(EventRow {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            user_id: r.get(2)?,
            event_type: r.get(3)?,
            value: r.get(4)?,
            currency: r.get(5)?,
            ts: r.get(6)?,
        })
    }
}

/// Inserts one event.
pub fn insert(c: &Connection, e: &NewEventRow<'_>) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO events (id, tenant_id, user_id, type, value, currency, metadata, ts, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            e.id,
            e.tenant_id,
            e.user_id,
            e.event_type,
            e.value,
            e.currency,
            e.metadata,
            e.ts,
            e.created_at
        ],
    )?;
    Ok(())
}

/// The event `id` (any tenant: ids are global ULIDs), if it exists.
pub fn get(c: &Connection, id: &str) -> rusqlite::Result<Option<EventRow>> {
    c.row(
        &format!("SELECT {COLS} FROM events WHERE id = ?1"),
        [id],
        EventRow::from_row,
    )
    .optional()
}

/// Ids of every event of `user_id`, oldest first (ts, id).
pub fn ids_of_user(
    c: &Connection,
    tenant_id: &str,
    user_id: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare_cached(
        "SELECT id FROM events WHERE tenant_id = ?1 AND user_id = ?2 ORDER BY ts, id",
    )?;
    let rows = st.query_map(params![tenant_id, user_id], |r| r.get(0))?;
    rows.collect()
}

/// Ids of the events of `user_id` that are not settled (no commission of theirs is
/// approved, paid or reversed), oldest first (ts, id).
pub fn unsettled_ids_of_user(
    c: &Connection,
    tenant_id: &str,
    user_id: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare_cached(
        "SELECT e.id FROM events e WHERE e.tenant_id = ?1 AND e.user_id = ?2
           AND NOT EXISTS (SELECT 1 FROM attributions a JOIN commissions c ON c.attribution_id = a.id
                           WHERE a.event_id = e.id AND c.status <> 'accrued')
         ORDER BY e.ts, e.id",
    )?;
    let rows = st.query_map(params![tenant_id, user_id], |r| r.get(0))?;
    rows.collect()
}

/// Number of events of the tenant.
pub fn count(c: &Connection, tenant_id: &str) -> rusqlite::Result<usize> {
    c.row(
        "SELECT COUNT(*) FROM events WHERE tenant_id = ?1",
        [tenant_id],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| usize::try_from(n).unwrap_or(0))
}
