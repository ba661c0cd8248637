//! Webhook deliveries (API.md §3.6): turning outbox events into deliveries, signing and
//! sending them, and recording each attempt. The background task that drives this is
//! [`dispatcher`]; the routes are `routes/webhooks.rs`.
//!
//! # Ids and exactly-once
//! - An **event** is one `outbox` row, recorded by [`crate::outbox::emit`] in the job of
//!   the change it describes; its id is the envelope id `evt_<ULID>`.
//! - [`drain_outbox`] turns undispatched outbox rows (in `seq` order) into one
//!   **delivery** per (event, subscribed endpoint) — a bare-ULID row, `UNIQUE(event_id,
//!   endpoint_id)` — and marks the rows dispatched, all in one job: each event is fanned
//!   out exactly once, even across crashes. An endpoint receives the events recorded at or
//!   after its creation (`created_at` ≤ the event's time).
//! - The delivery's `payload` is the envelope `{"id":"evt_…","event","created","data"}`,
//!   built once and stored; every attempt sends exactly that body, with the envelope id in
//!   `x-openpartner-delivery` and a fresh timestamp and signature. Sending is
//!   **at-least-once**: a crash between the receiver's answer and the recorded attempt
//!   resends at start-up, so receivers de-duplicate on `x-openpartner-delivery`.
//!
//! # Attempts
//! [`record_attempt`] stores attempt `n` (`trigger` scheduled | manual) and the
//! delivery's new state in one job: 2xx → `delivered`; a scheduled attempt that failed
//! with attempts left ([`RetryPolicy`], \[EXT\]) → `pending` with `next_attempt_at`; a
//! blocked target (SSRF guard), a manual attempt or the last one → `failed`.

pub mod dispatcher;

use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;

pub use dispatcher::Dispatcher;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::outbound::{OutboundRequest, OutboundResult};
use crate::state::AppState;
use crate::store;
use crate::store::outbox::OutboxRow;
use crate::store::webhooks::{AttemptRow, DeliveryRow, NewDelivery, Outcome};
use crate::util::{fmt_ts, new_id};

/// The event types an endpoint may subscribe to (besides `*`, all of them).
pub const EVENT_TYPES: &[&str] = &[
    "attribution.created",
    "commission.accrued",
    "commission.approved",
    "commission.paid",
    "commission.reversed",
    "partner.created",
    "partner.activated",
    "payout.created",
];

/// The default type of `POST /webhooks/{id}/test`.
pub const TEST_EVENT: &str = "webhook.test";

/// `user-agent` of every delivery.
pub const USER_AGENT: &str = "OpenPartner-Webhooks/1";

/// Outbox rows one dispatcher job fans out at most.
pub const OUTBOX_BATCH: u32 = 500;

/// A new signing secret: `whsec_` + 32 base64url characters (24 random bytes).
pub fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What listings show of a secret: its first 10 characters (`whsec_` + 4).
pub fn secret_prefix(secret: &str) -> String {
    secret.chars().take(10).collect()
}

/// The signature of a delivery: lowercase hex HMAC-SHA256 with key = the whole `whsec_…`
/// string and message = `"<timestamp>.<raw body>"`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length: `new_from_slice` cannot fail here.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The envelope every delivery sends.
#[derive(Debug, Serialize)]
struct Envelope<'a> {
    /// `evt_<ULID>`.
    id: &'a str,
    /// Event type.
    event: &'a str,
    /// ISO time of the change.
    created: &'a str,
    /// The event's data.
    data: &'a Value,
}

/// The body text of event `id` (the stored `payload`).
pub fn envelope(id: &str, event: &str, created: &str, data: &Value) -> ApiResult<String> {
    serde_json::to_string(&Envelope {
        id,
        event,
        created,
        data,
    })
    .map_err(|_| ApiError::internal())
}

/// Who triggered an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The first try or an automatic retry.
    Scheduled,
    /// `POST …/retry` or `POST …/test`.
    Manual,
}

impl Trigger {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Scheduled => "scheduled",
            Trigger::Manual => "manual",
        }
    }
}

/// \[EXT\] How many attempts a delivery gets and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total (≥ 1; 1 = no automatic retries).
    pub attempts: u32,
    /// Delay before attempt 2, 3, …; the last value repeats.
    pub schedule: Vec<Duration>,
}

impl RetryPolicy {
    /// `config.webhook_attempts` and `webhook_schedule`; one attempt with extensions off.
    pub fn from_config(config: &Config) -> RetryPolicy {
        RetryPolicy {
            attempts: if config.extensions {
                config.webhook_attempts.max(1)
            } else {
                1
            },
            schedule: config.webhook_schedule.clone(),
        }
    }

    /// The scheduled delay after failed attempt `n` (from 1), before jitter.
    pub fn scheduled(&self, n: u32) -> Duration {
        let i = (n.max(1) - 1) as usize;
        self.schedule
            .get(i)
            .or(self.schedule.last())
            .copied()
            .unwrap_or(Duration::from_secs(30))
    }

    /// The delay after failed attempt `n`: the scheduled one × `jitter_permille` / 1000
    /// (800–1200 for ±20 %), moved to at least `retry_after` (a 429/503 `Retry-After`)
    /// but never beyond twice the scheduled delay.
    pub fn delay(&self, n: u32, jitter_permille: u32, retry_after: Option<Duration>) -> Duration {
        let scheduled = self.scheduled(n);
        let jittered = scheduled * jitter_permille / 1000;
        match retry_after {
            Some(ra) if ra > jittered => ra.min(scheduled * 2),
            _ => jittered,
        }
    }
}

/// Where and how one attempt is sent. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Target {
    /// The delivery (its `payload` is the body).
    pub delivery: DeliveryRow,
    /// The endpoint URL.
    pub url: String,
    secret: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("delivery", &self.delivery.id)
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Target {
    /// The request of one attempt at unix time `ts`: `POST <url>` with the §3.6 headers.
    pub fn request(&self, ts: i64) -> OutboundRequest {
        let body = self.delivery.payload.as_bytes();
        OutboundRequest {
            method: http::Method::POST,
            url: self.url.clone(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("user-agent".into(), USER_AGENT.into()),
                ("x-openpartner-timestamp".into(), ts.to_string()),
                (
                    "x-openpartner-signature".into(),
                    sign(&self.secret, ts, body),
                ),
                (
                    "x-openpartner-event".into(),
                    self.delivery.event_type.clone(),
                ),
                (
                    "x-openpartner-delivery".into(),
                    self.delivery.event_id.clone(),
                ),
            ],
            body: Some(bytes::Bytes::from(self.delivery.payload.clone())),
        }
    }
}

/// Sends one attempt of `t` now (fresh timestamp and signature). Never fails: every
/// failure is in the result.
pub async fn send(state: &AppState, t: &Target) -> OutboundResult {
    let ts = state.clock.now().timestamp();
    state.outbound.send(t.request(ts)).await
}

/// The deliveries of outbox event `row` (data `data`): one pending delivery, due at
/// `now`, per active endpoint of its tenant created by then that subscribes to its type
/// or `*`. Returns how many were created (an existing (event, endpoint) pair is kept).
pub fn fan_out(c: &Connection, row: &OutboxRow, data: &Value, now: &str) -> ApiResult<usize> {
    let endpoints =
        store::webhooks::subscribers(c, &row.tenant_id, &row.event_type, &row.created_at)?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let payload = envelope(&row.id, &row.event_type, &row.created_at, data)?;
    let mut n = 0;
    for endpoint_id in &endpoints {
        let created = store::webhooks::insert_delivery(
            c,
            &NewDelivery {
                id: &new_id(),
                tenant_id: &row.tenant_id,
                endpoint_id,
                event_id: &row.id,
                event_type: &row.event_type,
                payload: &payload,
                created_at: now,
                next_attempt_at: Some(now),
            },
        )?;
        n += usize::from(created);
    }
    Ok(n)
}

/// Fans out up to `limit` undispatched outbox rows in `seq` order ([`fan_out`]) and marks
/// each dispatched, inside the caller's job. Returns how many rows were handled.
pub fn drain_outbox(c: &Connection, now: &str, limit: u32) -> ApiResult<usize> {
    let rows = store::outbox::undispatched(c, limit)?;
    for row in &rows {
        let data: Value = serde_json::from_str(&row.data).unwrap_or_else(|_| {
            tracing::error!(event = %row.id, "outbox data is not JSON; sent as null");
            Value::Null
        });
        // every consumer of an event fans it out here, in this job (webhook endpoints;
        // partner postbacks join with one call of their own)
        fan_out(c, row, &data, now)?;
        store::outbox::mark_dispatched(c, row.seq, now)?;
    }
    Ok(rows.len())
}

/// The send target of delivery `d`: `None` when its endpoint is gone.
pub fn target(c: &Connection, d: DeliveryRow) -> ApiResult<Option<(Target, bool)>> {
    Ok(
        store::webhooks::endpoint_target(c, &d.endpoint_id)?.map(|(url, secret, active)| {
            (
                Target {
                    delivery: d,
                    url,
                    secret,
                },
                active,
            )
        }),
    )
}

/// 400 `endpoint_mismatch`: the delivery named in the path belongs to another endpoint.
pub fn endpoint_mismatch() -> ApiError {
    ApiError::bad_request("endpoint_mismatch").detail("the delivery belongs to another endpoint")
}

/// Claims delivery `delivery_id` of endpoint `endpoint_id` for a manual retry (its
/// remaining schedule is cancelled), in one job of its own (the attempt is sent after
/// it). Errors: 404 `not_found` (endpoint or delivery); 400 `endpoint_mismatch` when the
/// delivery belongs to another endpoint.
pub async fn claim_for_retry(
    state: &AppState,
    tenant_id: &str,
    endpoint_id: &str,
    delivery_id: &str,
) -> ApiResult<Target> {
    let (t, e, d) = (
        tenant_id.to_owned(),
        endpoint_id.to_owned(),
        delivery_id.to_owned(),
    );
    state
        .db
        .call(move |c| claim_for_retry_in(c, &t, &e, &d))
        .await
}

fn claim_for_retry_in(
    c: &Connection,
    tenant_id: &str,
    endpoint_id: &str,
    delivery_id: &str,
) -> ApiResult<Target> {
    store::webhooks::get_endpoint(c, tenant_id, endpoint_id)?.ok_or_else(ApiError::not_found)?;
    let d = store::webhooks::get_delivery(c, tenant_id, delivery_id)?
        .ok_or_else(ApiError::not_found)?;
    if d.endpoint_id != endpoint_id {
        return Err(endpoint_mismatch());
    }
    store::webhooks::claim(c, &d.id)?;
    let (t, _) = target(c, d)?.ok_or_else(ApiError::not_found)?;
    Ok(t)
}

/// Creates a synthetic delivery of type `event_type` to endpoint `endpoint_id` (data
/// `{"_synthetic":true}`), claimed for sending now, in one job of its own (the attempt is
/// sent after it); returns it with its envelope. Errors: 404 `not_found`; 400
/// `endpoint_inactive`.
pub async fn create_test(
    state: &AppState,
    tenant_id: &str,
    endpoint_id: &str,
    event_type: &str,
) -> ApiResult<(Target, Value)> {
    let (t, e, ty, now) = (
        tenant_id.to_owned(),
        endpoint_id.to_owned(),
        event_type.to_owned(),
        state.now_iso(),
    );
    state
        .db
        .call(move |c| create_test_in(c, &t, &e, &ty, &now))
        .await
}

fn create_test_in(
    c: &Connection,
    tenant_id: &str,
    endpoint_id: &str,
    event_type: &str,
    now: &str,
) -> ApiResult<(Target, Value)> {
    let e = store::webhooks::get_endpoint(c, tenant_id, endpoint_id)?
        .ok_or_else(ApiError::not_found)?;
    if !e.active {
        return Err(ApiError::bad_request("endpoint_inactive")
            .detail("the endpoint is inactive; activate it with PATCH {\"active\":true}"));
    }
    let event_id = format!("evt_{}", new_id());
    let data = serde_json::json!({"_synthetic": true});
    let payload = envelope(&event_id, event_type, now, &data)?;
    let id = new_id();
    store::webhooks::insert_delivery(
        c,
        &NewDelivery {
            id: &id,
            tenant_id,
            endpoint_id,
            event_id: &event_id,
            event_type,
            payload: &payload,
            created_at: now,
            next_attempt_at: None,
        },
    )?;
    let d = store::webhooks::get_delivery(c, tenant_id, &id)?.ok_or_else(ApiError::internal)?;
    let (t, _) = target(c, d)?.ok_or_else(ApiError::internal)?;
    let event = serde_json::from_str(&payload).map_err(|_| ApiError::internal())?;
    Ok((t, event))
}

/// Records attempt `attempts + 1` of delivery `delivery_id` with `result`, made at `now`
/// by `trigger`, and stores the delivery's new state (module docs); refreshes the
/// endpoint's `last_used_at`. Returns the updated delivery, `None` when it is gone (its
/// endpoint was hard-deleted meanwhile).
pub fn record_attempt(
    c: &Connection,
    tenant_id: &str,
    delivery_id: &str,
    trigger: Trigger,
    result: &OutboundResult,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
) -> ApiResult<Option<DeliveryRow>> {
    let Some(d) = store::webhooks::get_delivery(c, tenant_id, delivery_id)? else {
        return Ok(None);
    };
    let n = d.attempts + 1;
    let at = fmt_ts(now);
    store::webhooks::insert_attempt(
        c,
        &d.id,
        &AttemptRow {
            n,
            trigger: trigger.as_str().to_owned(),
            http_status: result.http_status,
            error: result.error.clone(),
            response_snippet: result.response_snippet.clone(),
            duration_ms: result.duration_ms,
            at: at.clone(),
        },
    )?;
    store::webhooks::touch_endpoint(c, &d.endpoint_id, &at)?;
    let next = if result.is_success() || result.blocked() || n >= policy.attempts {
        None
    } else if trigger == Trigger::Manual || d.status != "pending" {
        // a manual attempt cancels the schedule; a scheduled one that finishes after a
        // manual retry settled the delivery does not revive it
        None
    } else {
        let jitter = rand::random_range(800..=1200);
        let delay = policy.delay(n, jitter, result.retry_after);
        Some(fmt_ts(
            now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::zero()),
        ))
    };
    let status = if result.is_success() {
        "delivered"
    } else if next.is_some() {
        "pending"
    } else if trigger == Trigger::Scheduled && d.status != "pending" {
        d.status.as_str()
    } else {
        "failed"
    };
    store::webhooks::set_outcome(
        c,
        &d.id,
        &Outcome {
            status,
            http_status: result.http_status,
            error: result.error.as_deref(),
            attempts: n,
            last_attempt_at: &at,
            delivered_at: result.is_success().then_some(at.as_str()),
            next_attempt_at: next.as_deref(),
        },
    )?;
    Ok(store::webhooks::get_delivery(c, tenant_id, delivery_id)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hex_hmac_of_timestamp_dot_body() {
        // The expected value is from Python: hmac.new(key, b"1700000000." + body, sha256).
        let sig = sign("whsec_test", 1700000000, br#"{"a":1}"#);
        assert_eq!(sig.len(), 64);
        assert!(sig
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(
            sig,
            "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }

    #[test]
    fn secrets_are_whsec_and_32_base64url_chars() {
        let s = new_secret();
        let rest = s.strip_prefix("whsec_").unwrap();
        assert_eq!(rest.len(), 32);
        assert!(rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(new_secret(), s);
        assert_eq!(secret_prefix(&s).len(), 10);
    }

    #[test]
    fn delays_follow_the_schedule_jitter_and_retry_after_cap() {
        let p = RetryPolicy {
            attempts: 5,
            schedule: vec![Duration::from_secs(30), Duration::from_secs(120)],
        };
        assert_eq!(p.scheduled(1), Duration::from_secs(30));
        assert_eq!(p.scheduled(2), Duration::from_secs(120));
        assert_eq!(p.scheduled(4), Duration::from_secs(120), "the last repeats");
        assert_eq!(p.delay(1, 800, None), Duration::from_secs(24));
        assert_eq!(p.delay(1, 1200, None), Duration::from_secs(36));
        let ra = |s| Some(Duration::from_secs(s));
        assert_eq!(p.delay(1, 1000, ra(45)), Duration::from_secs(45));
        assert_eq!(p.delay(1, 1000, ra(600)), Duration::from_secs(60), "capped");
        assert_eq!(p.delay(1, 1000, ra(5)), Duration::from_secs(30));
    }
}
