//! `outbox`: webhook events recorded in the transaction of the change they describe.

use rusqlite::{params, Connection};

use crate::db::ConnExt;

/// Records event `id` (`evt_<ULID>`) of `event_type` with its `data` JSON text.
pub fn insert(
    c: &Connection,
    id: &str,
    tenant_id: &str,
    event_type: &str,
    data: &str,
    created_at: &str,
) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO outbox (id, tenant_id, event_type, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, tenant_id, event_type, data, created_at],
    )?;
    Ok(())
}

/// An outbox row the dispatcher has not handled yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Insertion order.
    pub seq: i64,
    /// Envelope id `evt_<ULID>`.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Event type.
    pub event_type: String,
    /// The `data` JSON text.
    pub data: String,
    /// ISO time of the change (the envelope's `created`).
    pub created_at: String,
}

/// Columns read by [`OutboxRow::from_row`].
pub const COLS: &str = "seq, id, tenant_id, event_type, data, created_at";

impl OutboxRow {
    /// Reads a row selected with [`COLS`].
    pub fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
        Ok(OutboxRow {
            seq: r.get(0)?,
            id: r.get(1)?,
            tenant_id: r.get(2)?,
            event_type: r.get(3)?,
            data: r.get(4)?,
            created_at: r.get(5)?,
        })
    }
}

/// Up to `limit` undispatched rows, in `seq` order.
pub fn undispatched(c: &Connection, limit: u32) -> rusqlite::Result<Vec<OutboxRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM outbox WHERE dispatched_at IS NULL ORDER BY seq LIMIT ?1"
    ))?;
    let rows = st.query_map([limit], OutboxRow::from_row)?;
    rows.collect()
}

/// Marks row `seq` dispatched at `now`.
pub fn mark_dispatched(c: &Connection, seq: i64, now: &str) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE outbox SET dispatched_at = ?2 WHERE seq = ?1",
        params![seq, now],
    )?;
    Ok(())
}
