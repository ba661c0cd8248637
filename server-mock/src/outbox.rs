//! Webhook-event hook. Routes call [`emit`] inside the job that makes the change, so an
//! event exists exactly when its change was committed. Events are recorded in the
//! `outbox` table; the webhook dispatcher ([`crate::webhooks::dispatcher`]) reads rows
//! with `dispatched_at IS NULL` in `seq` order, fans each out into deliveries and marks it,
//! in one job.
//!
//! [`emit`] also notes on the writer thread that the running job recorded an event;
//! [`crate::respond`] takes that note ([`take_emitted`]) inside the same job and, once the
//! job is committed, wakes the dispatcher.

use std::cell::Cell;

use rusqlite::Connection;
use serde_json::Value;

use crate::error::ApiError;

thread_local! {
    /// Set by [`emit`] on the database writer thread; read and cleared by [`take_emitted`].
    static EMITTED: Cell<bool> = const { Cell::new(false) };
}

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
    EMITTED.with(|e| e.set(true));
    Ok(id)
}

/// True when [`emit`] ran on this thread since the last call (which clears the note).
/// Called at the start and the end of a job on the writer thread, it says whether that
/// job recorded events.
pub fn take_emitted() -> bool {
    EMITTED.with(|e| e.replace(false))
}
