//! `partner_postbacks` and `postback_attempts`: a partner's postbacks (API.md §3.6) and
//! the log of their sends (one row per send, which is also its one try: postbacks are
//! never retried). See [`crate::postbacks`] for the fan-out and the sender.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::ConnExt;

/// A postback event type as the OpenAPI document names it. Rows and bodies carry the
/// plain string (bodies are checked with `domain::postbacks::validate_events`, which
/// reports every bad entry by index); this enum only gives the schema its `enum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum PostbackEvent {
    /// A commission was accrued.
    #[serde(rename = "commission.accrued")]
    Accrued,
    /// A commission was approved.
    #[serde(rename = "commission.approved")]
    Approved,
    /// A commission was reversed.
    #[serde(rename = "commission.reversed")]
    Reversed,
    /// A commission was paid by a payout run.
    #[serde(rename = "commission.paid")]
    Paid,
}

/// Columns read by [`Postback::from_row`].
pub const COLS: &str = "id, partner_id, url, events, enabled, created_at";

/// A postback as the API answers it: exactly the fields the SDK's `Postback` reads
/// (`tenant_id` and `updated_at` are kept in the table, not served).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Postback {
    /// Postback id.
    pub id: String,
    /// The partner it belongs to.
    pub partner_id: String,
    /// The URL template (absolute http(s), at most 2048 characters) with `{macros}`.
    #[schema(max_length = 2048)]
    pub url: String,
    /// The `commission.*` event types it fires on (1–10, no duplicates).
    #[schema(value_type = Vec<PostbackEvent>, min_items = 1, max_items = 10)]
    pub events: Vec<String>,
    /// Whether it fires.
    pub enabled: bool,
    /// Creation time (ISO 8601).
    pub created_at: String,
}

impl Postback {
    /// Reads a row selected with [`COLS`] (`events` is JSON text; an unreadable value reads
    /// as no events).
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Postback> {
        let events: String = r.get(3)?;
        Ok(Postback {
            id: r.get(0)?,
            partner_id: r.get(1)?,
            url: r.get(2)?,
            events: serde_json::from_str(&events).unwrap_or_default(),
            enabled: r.get(4)?,
            created_at: r.get(5)?,
        })
    }
}

/// A new postback.
#[derive(Debug, Clone)]
pub struct NewPostback<'a> {
    /// Postback id.
    pub id: &'a str,
    /// Partner.
    pub partner_id: &'a str,
    /// URL template.
    pub url: &'a str,
    /// Event types.
    pub events: &'a [String],
    /// Whether it fires.
    pub enabled: bool,
    /// Creation (and first update) time.
    pub now: &'a str,
}

/// Inserts postback `p` of the tenant.
pub fn insert(c: &Connection, tenant_id: &str, p: &NewPostback<'_>) -> rusqlite::Result<()> {
    let events = serde_json::to_string(p.events).unwrap_or_else(|_| "[]".into());
    c.exec(
        "INSERT INTO partner_postbacks (id, tenant_id, partner_id, url, events, enabled, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![p.id, tenant_id, p.partner_id, p.url, events, p.enabled, p.now],
    )?;
    Ok(())
}

/// The postbacks of `partner_id`, oldest first.
pub fn list_for_partner(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
) -> rusqlite::Result<Vec<Postback>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM partner_postbacks WHERE tenant_id = ?1 AND partner_id = ?2
         ORDER BY created_at, id"
    ))?;
    let rows = st.query_map(params![tenant_id, partner_id], Postback::from_row)?;
    rows.collect()
}

/// Postback `id` of `partner_id` (`None` when there is none, or it is another partner's).
pub fn get(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    id: &str,
) -> rusqlite::Result<Option<Postback>> {
    c.row(
        &format!(
            "SELECT {COLS} FROM partner_postbacks WHERE tenant_id = ?1 AND partner_id = ?2 AND id = ?3"
        ),
        params![tenant_id, partner_id, id],
        Postback::from_row,
    )
    .optional()
}

/// The fields a `PATCH` changes (`None` = unchanged).
#[derive(Debug, Clone, Default)]
pub struct PostbackChanges {
    /// New URL template.
    pub url: Option<String>,
    /// New event types.
    pub events: Option<Vec<String>>,
    /// New enabled flag.
    pub enabled: Option<bool>,
}

/// Applies `ch` to postback `id` of `partner_id` and sets `updated_at = now`; returns
/// whether the postback exists.
pub fn update(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    id: &str,
    ch: &PostbackChanges,
    now: &str,
) -> rusqlite::Result<bool> {
    let events = ch
        .events
        .as_ref()
        .map(|e| serde_json::to_string(e).unwrap_or_else(|_| "[]".into()));
    let n = c.exec(
        "UPDATE partner_postbacks SET url = COALESCE(?4, url), events = COALESCE(?5, events),
                enabled = COALESCE(?6, enabled), updated_at = ?7
         WHERE tenant_id = ?1 AND partner_id = ?2 AND id = ?3",
        params![tenant_id, partner_id, id, ch.url, events, ch.enabled, now],
    )?;
    Ok(n > 0)
}

/// Deletes postback `id` of `partner_id` with its sends (pending ones are never sent);
/// returns whether it existed.
pub fn delete(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    id: &str,
) -> rusqlite::Result<bool> {
    let n = c.exec(
        "DELETE FROM partner_postbacks WHERE tenant_id = ?1 AND partner_id = ?2 AND id = ?3",
        params![tenant_id, partner_id, id],
    )?;
    if n > 0 {
        c.exec(
            "DELETE FROM postback_attempts WHERE tenant_id = ?1 AND postback_id = ?2",
            params![tenant_id, id],
        )?;
    }
    Ok(n > 0)
}

/// A postback an event fans out to: its id and URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// Postback id.
    pub id: String,
    /// URL template.
    pub url: String,
}

/// The enabled postbacks of `partner_id` subscribed to `event_type` that existed at
/// `recorded_at`, oldest first.
pub fn subscribers(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    event_type: &str,
    recorded_at: &str,
) -> rusqlite::Result<Vec<Subscriber>> {
    let mut st = c.prepare_cached(
        "SELECT id, url FROM partner_postbacks
         WHERE tenant_id = ?1 AND partner_id = ?2 AND enabled = 1 AND created_at <= ?4
           AND EXISTS (SELECT 1 FROM json_each(partner_postbacks.events) WHERE value = ?3)
         ORDER BY created_at, id",
    )?;
    let rows = st.query_map(
        params![tenant_id, partner_id, event_type, recorded_at],
        |r| {
            Ok(Subscriber {
                id: r.get(0)?,
                url: r.get(1)?,
            })
        },
    )?;
    rows.collect()
}

/// What the macros of a commission event read from the commission, its attribution and
/// its conversion event (every part may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommissionContext {
    /// Partner credited.
    pub partner_id: Option<String>,
    /// Program of the commission.
    pub program_id: Option<String>,
    /// Exact decimal amount.
    pub amount: Option<String>,
    /// Currency.
    pub currency: Option<String>,
    /// Payout that paid it.
    pub payout_id: Option<String>,
    /// The attribution's click.
    pub click_id: Option<String>,
    /// The conversion event.
    pub event_id: Option<String>,
    /// That event's metadata (JSON text).
    pub event_metadata: Option<String>,
}

/// The [`CommissionContext`] of commission `commission_id` of the tenant (`None` when
/// there is no such commission).
pub fn commission_context(
    c: &Connection,
    tenant_id: &str,
    commission_id: &str,
) -> rusqlite::Result<Option<CommissionContext>> {
    c.row(
        "SELECT c.partner_id, COALESCE(c.program_id, a.program_id), c.amount, c.currency,
                c.payout_id, a.click_id, a.event_id, e.metadata
         FROM commissions c
         LEFT JOIN attributions a ON a.id = c.attribution_id
         LEFT JOIN events e ON e.id = a.event_id
         WHERE c.tenant_id = ?1 AND c.id = ?2",
        params![tenant_id, commission_id],
        |r| {
            Ok(CommissionContext {
                partner_id: r.get(0)?,
                program_id: r.get(1)?,
                amount: r.get(2)?,
                currency: r.get(3)?,
                payout_id: r.get(4)?,
                click_id: r.get(5)?,
                event_id: r.get(6)?,
                event_metadata: r.get(7)?,
            })
        },
    )
    .optional()
}

/// The metadata (JSON text) of conversion event `event_id` of the tenant.
pub fn event_metadata(
    c: &Connection,
    tenant_id: &str,
    event_id: &str,
) -> rusqlite::Result<Option<String>> {
    Ok(c.row(
        "SELECT metadata FROM events WHERE tenant_id = ?1 AND id = ?2",
        params![tenant_id, event_id],
        |r| r.get::<_, Option<String>>(0),
    )
    .optional()?
    .flatten())
}

/// A pending send recorded by the fan-out.
#[derive(Debug, Clone)]
pub struct NewSend<'a> {
    /// Attempt id.
    pub id: &'a str,
    /// Postback.
    pub postback_id: &'a str,
    /// The outbox event (`evt_…`).
    pub event_id: &'a str,
    /// Its type (`commission.*`).
    pub event_type: &'a str,
    /// The expanded URL.
    pub url: &'a str,
    /// Creation time.
    pub now: &'a str,
}

/// Records send `s` as `pending` unless the postback already has one for that event;
/// returns whether a row was added.
pub fn insert_pending(c: &Connection, tenant_id: &str, s: &NewSend<'_>) -> rusqlite::Result<bool> {
    let n = c.exec(
        "INSERT OR IGNORE INTO postback_attempts
            (id, tenant_id, postback_id, event_id, event_type, url, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7)",
        params![
            s.id,
            tenant_id,
            s.postback_id,
            s.event_id,
            s.event_type,
            s.url,
            s.now
        ],
    )?;
    Ok(n > 0)
}

/// True when some send is `pending`.
pub fn has_pending(c: &Connection) -> rusqlite::Result<bool> {
    c.row(
        "SELECT EXISTS(SELECT 1 FROM postback_attempts WHERE status = 'pending')",
        [],
        |r| r.get(0),
    )
}

/// A claimed send: its id and the URL to `GET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedSend {
    /// Attempt id.
    pub id: String,
    /// The expanded URL.
    pub url: String,
}

/// Marks up to `limit` pending sends (oldest first) `sending` and returns them.
pub fn claim_pending(c: &Connection, limit: usize) -> rusqlite::Result<Vec<ClaimedSend>> {
    let claimed: Vec<ClaimedSend> = {
        let mut st = c.prepare_cached(
            "SELECT id, url FROM postback_attempts WHERE status = 'pending'
             ORDER BY created_at, rowid LIMIT ?1",
        )?;
        let rows = st.query_map([limit as i64], |r| {
            Ok(ClaimedSend {
                id: r.get(0)?,
                url: r.get(1)?,
            })
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for s in &claimed {
        c.exec(
            "UPDATE postback_attempts SET status = 'sending' WHERE id = ?1",
            [&s.id],
        )?;
    }
    Ok(claimed)
}

/// The outcome of one try.
#[derive(Debug, Clone)]
pub struct SendResult<'a> {
    /// `sent` (2xx) or `failed`.
    pub status: &'a str,
    /// The receiver's status, `None` without an answer.
    pub http_status: Option<u16>,
    /// Why it failed.
    pub error: Option<&'a str>,
    /// First 4 KiB of the answer.
    pub response_snippet: Option<&'a str>,
    /// Duration of the try.
    pub duration_ms: u64,
    /// When it was made.
    pub at: &'a str,
}

/// Records the result of send `id`.
pub fn record_result(c: &Connection, id: &str, r: &SendResult<'_>) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE postback_attempts SET status = ?2, http_status = ?3, error = ?4,
                response_snippet = ?5, duration_ms = ?6, at = ?7
         WHERE id = ?1",
        params![
            id,
            r.status,
            r.http_status,
            r.error,
            r.response_snippet,
            r.duration_ms as i64,
            r.at
        ],
    )?;
    Ok(())
}

/// Marks every send left `sending` by a stopped server `failed` with `error` (a send is
/// tried at most once); returns how many.
pub fn fail_interrupted(c: &Connection, error: &str, now: &str) -> rusqlite::Result<usize> {
    c.exec(
        "UPDATE postback_attempts SET status = 'failed', error = ?1, at = ?2
         WHERE status = 'sending'",
        params![error, now],
    )
}

/// Columns read by [`PostbackAttempt::from_row`].
pub const ATTEMPT_COLS: &str = "id, event_id, event_type, url, status, http_status, error,
    response_snippet, duration_ms, created_at, at";

/// \[EXT\] One send (= its one try) of a postback, as the attempt log answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostbackAttempt {
    /// Attempt id.
    pub id: String,
    /// The event envelope id (`evt_…`) that fired it.
    pub event_id: String,
    /// Its type (`commission.*`).
    pub event_type: String,
    /// The URL requested (the template with every macro expanded and percent-encoded).
    pub url: String,
    /// `pending` (not tried yet), `sending`, `sent` (2xx) or `failed`.
    #[schema(pattern = "^(pending|sending|sent|failed)$")]
    pub status: String,
    /// The receiver's HTTP status; `null` when no answer came (not tried yet, transport
    /// error, SSRF block).
    pub http_status: Option<u16>,
    /// Why it failed (`HTTP <code>`, the transport error or the SSRF block), `null` on a
    /// 2xx or while pending.
    pub error: Option<String>,
    /// First 4 KiB of the receiver's answer, `null` without one.
    pub response_snippet: Option<String>,
    /// How long the try took, `null` while pending.
    pub duration_ms: Option<u64>,
    /// When the fan-out recorded it (ISO 8601).
    pub created_at: String,
    /// When it was tried, `null` while pending.
    pub at: Option<String>,
}

impl PostbackAttempt {
    /// Reads a row selected with [`ATTEMPT_COLS`].
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<PostbackAttempt> {
        Ok(PostbackAttempt {
            id: r.get(0)?,
            event_id: r.get(1)?,
            event_type: r.get(2)?,
            url: r.get(3)?,
            status: r.get(4)?,
            http_status: r.get(5)?,
            error: r.get(6)?,
            response_snippet: r.get(7)?,
            duration_ms: r.get::<_, Option<i64>>(8)?.map(|d| d.max(0) as u64),
            created_at: r.get(9)?,
            at: r.get(10)?,
        })
    }
}

/// The sends of postback `postback_id`, oldest first.
pub fn list_attempts(
    c: &Connection,
    tenant_id: &str,
    postback_id: &str,
) -> rusqlite::Result<Vec<PostbackAttempt>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {ATTEMPT_COLS} FROM postback_attempts WHERE tenant_id = ?1 AND postback_id = ?2
         ORDER BY created_at, rowid"
    ))?;
    let rows = st.query_map(params![tenant_id, postback_id], PostbackAttempt::from_row)?;
    rows.collect()
}
