//! Webhook-event hook. Routes call [`emit`] inside the transaction that makes the
//! change, so an event exists exactly when its change was committed. For now events are
//! only recorded in the `outbox` table; the webhook sender (a later module) reads rows
//! with `dispatched_at IS NULL` in `seq` order and marks them.

use rusqlite::Connection;
use serde_json::Value;

use crate::error::ApiError;

/// Records event `event_type` (e.g. `"partner.created"`) with `data` for `tenant_id`.
/// Returns the envelope id `evt_<ULID>`.
pub fn emit(
    conn: &Connection,
    tenant_id: &str,
    event_type: &str,
    data: Value,
    now_iso: &str,
) -> Result<String, ApiError> {
    let id = format!("evt_{}", crate::util::new_id());
    crate::store::outbox::insert(conn, &id, tenant_id, event_type, &data.to_string(), now_iso)?;
    Ok(id)
}
