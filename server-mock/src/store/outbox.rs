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
