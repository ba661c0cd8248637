//! `webhook_endpoints`, `webhook_deliveries`, `webhook_attempts` (API.md §3.6, migration
//! 0003): the endpoints of a tenant, one delivery per (event, endpoint) with the exact body
//! sent, and the \[EXT\] attempt log. The dispatcher's reads and claims are here too
//! ([`claim_due`], [`resume_claimed`], [`next_due`]).
//!
//! A pending delivery with `next_attempt_at` NULL is *claimed*: an attempt is being sent.
//! Claiming is what keeps two senders off one delivery inside the process, and
//! [`resume_claimed`] at start-up makes claims a crash interrupted due again.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::db::ConnExt;

/// A stored endpoint (never its secret: see [`endpoint_target`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRow {
    /// Endpoint id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Delivery URL.
    pub url: String,
    /// First characters of the secret (`whsec_` + 4).
    pub secret_prefix: String,
    /// Subscribed event types (`*` = all).
    pub events: Vec<String>,
    /// Whether deliveries are sent.
    pub active: bool,
    /// Label.
    pub label: Option<String>,
    /// ISO creation time.
    pub created_at: String,
    /// ISO time of the last delivery attempt.
    pub last_used_at: Option<String>,
}

/// Columns read by [`EndpointRow::from_row`].
pub const ENDPOINT_COLS: &str =
    "id, tenant_id, url, secret_prefix, events, active, label, created_at, last_used_at";

impl EndpointRow {
    /// Reads a row selected with [`ENDPOINT_COLS`].
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<EndpointRow> {
        let events: String = r.get(4)?;
        Ok(EndpointRow {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            url: r.get(2)?,
            secret_prefix: r.get(3)?,
            events: serde_json::from_str(&events).unwrap_or_default(),
            active: r.get(5)?,
            label: r.get(6)?,
            created_at: r.get(7)?,
            last_used_at: r.get(8)?,
        })
    }
}

/// What [`insert_endpoint`] stores.
#[derive(Debug)]
pub struct NewEndpoint<'a> {
    /// Endpoint id.
    pub id: &'a str,
    /// Delivery URL.
    pub url: &'a str,
    /// The whole `whsec_…` secret.
    pub secret: &'a str,
    /// Its displayed prefix.
    pub secret_prefix: &'a str,
    /// Event types.
    pub events: &'a [String],
    /// Label.
    pub label: Option<&'a str>,
    /// ISO creation time.
    pub created_at: &'a str,
}

fn json_list(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

/// Inserts an active endpoint of `tenant_id`.
pub fn insert_endpoint(
    c: &Connection,
    tenant_id: &str,
    e: &NewEndpoint<'_>,
) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO webhook_endpoints
           (id, tenant_id, url, secret, secret_prefix, events, active, label, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8)",
        params![
            e.id,
            tenant_id,
            e.url,
            e.secret,
            e.secret_prefix,
            json_list(e.events),
            e.label,
            e.created_at
        ],
    )?;
    Ok(())
}

/// Endpoint `id` of `tenant_id`.
pub fn get_endpoint(
    c: &Connection,
    tenant_id: &str,
    id: &str,
) -> rusqlite::Result<Option<EndpointRow>> {
    c.row(
        &format!("SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE tenant_id = ?1 AND id = ?2"),
        params![tenant_id, id],
        EndpointRow::from_row,
    )
    .optional()
}

/// Every endpoint of `tenant_id`, oldest first.
pub fn list_endpoints(c: &Connection, tenant_id: &str) -> rusqlite::Result<Vec<EndpointRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {ENDPOINT_COLS} FROM webhook_endpoints WHERE tenant_id = ?1
         ORDER BY created_at, id"
    ))?;
    let rows = st.query_map([tenant_id], EndpointRow::from_row)?;
    rows.collect()
}

/// The fields a `PATCH` changes (`None` = unchanged; `label: Some(None)` clears it).
#[derive(Debug, Default)]
pub struct EndpointChanges<'a> {
    /// New URL.
    pub url: Option<&'a str>,
    /// New event list.
    pub events: Option<&'a [String]>,
    /// New label, or `Some(None)` to clear it.
    pub label: Option<Option<&'a str>>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}

/// Applies `ch` to endpoint `id`; false when there is no such endpoint.
pub fn update_endpoint(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    ch: &EndpointChanges<'_>,
) -> rusqlite::Result<bool> {
    let n = c.exec(
        "UPDATE webhook_endpoints SET
           url = COALESCE(?3, url),
           events = COALESCE(?4, events),
           label = CASE WHEN ?5 THEN ?6 ELSE label END,
           active = COALESCE(?7, active)
         WHERE tenant_id = ?1 AND id = ?2",
        params![
            tenant_id,
            id,
            ch.url,
            ch.events.map(json_list),
            ch.label.is_some(),
            ch.label.flatten(),
            ch.active
        ],
    )?;
    Ok(n > 0)
}

/// Removes endpoint `id` with its deliveries and their attempts (hard delete); false when
/// there is no such endpoint.
pub fn delete_endpoint(c: &Connection, tenant_id: &str, id: &str) -> rusqlite::Result<bool> {
    Ok(c.exec(
        "DELETE FROM webhook_endpoints WHERE tenant_id = ?1 AND id = ?2",
        params![tenant_id, id],
    )? > 0)
}

/// True when any tenant has an endpoint (the dispatcher skips its work until one exists).
pub fn any_endpoint(c: &Connection) -> rusqlite::Result<bool> {
    c.row(
        "SELECT EXISTS (SELECT 1 FROM webhook_endpoints)
             OR EXISTS (SELECT 1 FROM partner_postbacks)",
        [],
        |r| r.get(0),
    )
}

/// Ids of the active endpoints of `tenant_id` created at or before `at` that subscribe
/// to `event_type` or to `*`, oldest first.
pub fn subscribers(
    c: &Connection,
    tenant_id: &str,
    event_type: &str,
    at: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare_cached(
        "SELECT e.id FROM webhook_endpoints e
         WHERE e.tenant_id = ?1 AND e.active = 1 AND e.created_at <= ?3
           AND EXISTS (SELECT 1 FROM json_each(e.events) j WHERE j.value IN (?2, '*'))
         ORDER BY e.created_at, e.id",
    )?;
    let rows = st.query_map(params![tenant_id, event_type, at], |r| r.get(0))?;
    rows.collect()
}

/// Where and how to send a delivery of endpoint `endpoint_id`: (url, secret, active).
pub fn endpoint_target(
    c: &Connection,
    endpoint_id: &str,
) -> rusqlite::Result<Option<(String, String, bool)>> {
    c.row(
        "SELECT url, secret, active FROM webhook_endpoints WHERE id = ?1",
        [endpoint_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()
}

/// Sets `last_used_at` of endpoint `endpoint_id` to `now`.
pub fn touch_endpoint(c: &Connection, endpoint_id: &str, now: &str) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE webhook_endpoints SET last_used_at = ?2 WHERE id = ?1",
        params![endpoint_id, now],
    )?;
    Ok(())
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// Delivery id (bare ULID).
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Endpoint.
    pub endpoint_id: String,
    /// Envelope id `evt_…` (the `x-openpartner-delivery` header).
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// The exact body sent.
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// HTTP status of the last attempt.
    pub http_status: Option<u16>,
    /// Error of the last attempt.
    pub error: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// ISO creation time.
    pub created_at: String,
    /// ISO time of the successful attempt.
    pub delivered_at: Option<String>,
    /// ISO time of the last attempt.
    pub last_attempt_at: Option<String>,
    /// ISO time of the next automatic attempt (pending, not claimed).
    pub next_attempt_at: Option<String>,
}

/// Columns read by [`DeliveryRow::from_row`].
pub const DELIVERY_COLS: &str = "id, tenant_id, endpoint_id, event_id, event_type, payload, \
     status, http_status, error, attempts, created_at, delivered_at, last_attempt_at, \
     next_attempt_at";

impl DeliveryRow {
    /// Reads a row selected with [`DELIVERY_COLS`].
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<DeliveryRow> {
        Ok(DeliveryRow {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            endpoint_id: r.get(2)?,
            event_id: r.get(3)?,
            event_type: r.get(4)?,
            payload: r.get(5)?,
            status: r.get(6)?,
            http_status: r.get(7)?,
            error: r.get(8)?,
            attempts: r.get(9)?,
            created_at: r.get(10)?,
            delivered_at: r.get(11)?,
            last_attempt_at: r.get(12)?,
            next_attempt_at: r.get(13)?,
        })
    }
}

/// What [`insert_delivery`] stores: a `pending` delivery without attempts.
#[derive(Debug)]
pub struct NewDelivery<'a> {
    /// Delivery id.
    pub id: &'a str,
    /// Tenant.
    pub tenant_id: &'a str,
    /// Endpoint.
    pub endpoint_id: &'a str,
    /// Envelope id `evt_…`.
    pub event_id: &'a str,
    /// Event type.
    pub event_type: &'a str,
    /// The exact body to send.
    pub payload: &'a str,
    /// ISO creation time.
    pub created_at: &'a str,
    /// When the dispatcher sends it (`None`: claimed by the caller, which sends it now).
    pub next_attempt_at: Option<&'a str>,
}

/// Inserts a pending delivery; false (nothing written) when (event, endpoint) already has
/// one.
pub fn insert_delivery(c: &Connection, d: &NewDelivery<'_>) -> rusqlite::Result<bool> {
    Ok(c.exec(
        "INSERT INTO webhook_deliveries
           (id, tenant_id, endpoint_id, event_id, event_type, payload, status, attempts,
            created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?8)
         ON CONFLICT (event_id, endpoint_id) DO NOTHING",
        params![
            d.id,
            d.tenant_id,
            d.endpoint_id,
            d.event_id,
            d.event_type,
            d.payload,
            d.created_at,
            d.next_attempt_at
        ],
    )? > 0)
}

/// Delivery `id` of `tenant_id`.
pub fn get_delivery(
    c: &Connection,
    tenant_id: &str,
    id: &str,
) -> rusqlite::Result<Option<DeliveryRow>> {
    c.row(
        &format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE tenant_id = ?1 AND id = ?2"),
        params![tenant_id, id],
        DeliveryRow::from_row,
    )
    .optional()
}

/// The newest `limit` deliveries of endpoint `endpoint_id`.
pub fn list_deliveries(
    c: &Connection,
    tenant_id: &str,
    endpoint_id: &str,
    limit: u32,
) -> rusqlite::Result<Vec<DeliveryRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {DELIVERY_COLS} FROM webhook_deliveries
         WHERE tenant_id = ?1 AND endpoint_id = ?2
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    ))?;
    let rows = st.query_map(
        params![tenant_id, endpoint_id, limit],
        DeliveryRow::from_row,
    )?;
    rows.collect()
}

/// Claims delivery `id` (sets `next_attempt_at` NULL: no automatic attempt until the
/// claimer records its attempt).
pub fn claim(c: &Connection, id: &str) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE webhook_deliveries SET next_attempt_at = NULL WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

/// Claims up to `limit` pending deliveries due at `now` (oldest due first) and returns
/// them.
pub fn claim_due(c: &Connection, now: &str, limit: u32) -> rusqlite::Result<Vec<DeliveryRow>> {
    let due: Vec<DeliveryRow> = {
        let mut st = c.prepare_cached(&format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries
             WHERE status = 'pending' AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, id LIMIT ?2"
        ))?;
        let rows = st.query_map(params![now, limit], DeliveryRow::from_row)?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for d in &due {
        claim(c, &d.id)?;
    }
    Ok(due)
}

/// The earliest `next_attempt_at` of an unclaimed pending delivery.
pub fn next_due(c: &Connection) -> rusqlite::Result<Option<String>> {
    c.row(
        "SELECT MIN(next_attempt_at) FROM webhook_deliveries
         WHERE status = 'pending' AND next_attempt_at IS NOT NULL",
        [],
        |r| r.get(0),
    )
}

/// Makes every claimed pending delivery due at `now` (start-up: the process that claimed
/// them is gone). Returns how many.
pub fn resume_claimed(c: &Connection, now: &str) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE webhook_deliveries SET next_attempt_at = ?1
         WHERE status = 'pending' AND next_attempt_at IS NULL",
        [now],
    )
}

/// A delivery's state after an attempt (see [`set_outcome`]).
#[derive(Debug)]
pub struct Outcome<'a> {
    /// `pending`, `delivered` or `failed`.
    pub status: &'a str,
    /// HTTP status of the attempt.
    pub http_status: Option<u16>,
    /// Error of the attempt.
    pub error: Option<&'a str>,
    /// Attempts made, this one included.
    pub attempts: u32,
    /// ISO time of the attempt.
    pub last_attempt_at: &'a str,
    /// Set on success (else the stored value is kept).
    pub delivered_at: Option<&'a str>,
    /// The next automatic attempt (pending only).
    pub next_attempt_at: Option<&'a str>,
}

/// Stores the state of delivery `id` after an attempt.
pub fn set_outcome(c: &Connection, id: &str, o: &Outcome<'_>) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE webhook_deliveries SET status = ?2, http_status = ?3, error = ?4,
           attempts = ?5, last_attempt_at = ?6, delivered_at = COALESCE(?7, delivered_at),
           next_attempt_at = ?8
         WHERE id = ?1",
        params![
            id,
            o.status,
            o.http_status,
            o.error,
            o.attempts,
            o.last_attempt_at,
            o.delivered_at,
            o.next_attempt_at
        ],
    )?;
    Ok(())
}

/// Fails pending delivery `id` without an attempt (its endpoint is inactive or gone).
pub fn fail_unsent(c: &Connection, id: &str, error: &str) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE webhook_deliveries SET status = 'failed', error = ?2, next_attempt_at = NULL
         WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

/// One stored attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    /// Attempt number, from 1.
    pub n: u32,
    /// `scheduled` or `manual`.
    pub trigger: String,
    /// The receiver's status (`None`: no answer).
    pub http_status: Option<u16>,
    /// Why it failed.
    pub error: Option<String>,
    /// First 4 KiB of the receiver's body.
    pub response_snippet: Option<String>,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// ISO time of the attempt.
    pub at: String,
}

/// Columns read by [`AttemptRow::from_row`].
pub const ATTEMPT_COLS: &str = "n, trigger, http_status, error, response_snippet, duration_ms, at";

impl AttemptRow {
    /// Reads a row selected with [`ATTEMPT_COLS`].
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<AttemptRow> {
        Ok(AttemptRow {
            n: r.get(0)?,
            trigger: r.get(1)?,
            http_status: r.get(2)?,
            error: r.get(3)?,
            response_snippet: r.get(4)?,
            duration_ms: r.get(5)?,
            at: r.get(6)?,
        })
    }
}

/// Records attempt `a` of delivery `delivery_id`.
pub fn insert_attempt(c: &Connection, delivery_id: &str, a: &AttemptRow) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO webhook_attempts
           (delivery_id, n, trigger, http_status, error, response_snippet, duration_ms, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            delivery_id,
            a.n,
            a.trigger,
            a.http_status,
            a.error,
            a.response_snippet,
            a.duration_ms,
            a.at
        ],
    )?;
    Ok(())
}

/// The attempts of delivery `delivery_id`, oldest first.
pub fn list_attempts(c: &Connection, delivery_id: &str) -> rusqlite::Result<Vec<AttemptRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {ATTEMPT_COLS} FROM webhook_attempts WHERE delivery_id = ?1 ORDER BY n"
    ))?;
    let rows = st.query_map([delivery_id], AttemptRow::from_row)?;
    rows.collect()
}
