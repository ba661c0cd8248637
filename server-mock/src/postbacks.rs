//! Firing partner postbacks (API.md §3.6): [`fan_out`] turns one `commission.*` event into
//! durable pending sends, [`spawn_sender`] sends them.
//!
//! **Fan-out.** [`fan_out`] runs inside the webhook dispatcher's database job that fans an
//! outbox event out ([`crate::webhooks::drain_outbox`]: the sends exist exactly when the
//! outbox row is marked dispatched). For the event's partner (`data.partnerId`) it records
//! one `pending` row in `postback_attempts` per *enabled* postback subscribed to the event
//! type and created at or before the event, with the URL already expanded
//! ([`crate::domain::postbacks::expand`]). `UNIQUE (postback_id, event_id)` makes a
//! second fan-out of the same event a no-op.
//!
//! **Macro values** (missing ones expand to the empty string). Each comes from the event's
//! `data` first; where the payload lacks it (`commission.approved`, `.reversed`, `.paid`
//! carry less than `commission.accrued`), from the stored commission (`data.commissionId`),
//! its attribution and its conversion event:
//!
//! | Macro | Value |
//! |---|---|
//! | `{commission_id}` | `data.commissionId` |
//! | `{partner_id}` | `data.partnerId` |
//! | `{commission_amount}` | `data.amount` (the exact decimal string, e.g. `12.50`), else the commission's |
//! | `{currency}` | `data.currency`, else the commission's |
//! | `{click_id}` | `data.clickId` (accrued), else the attribution's click |
//! | `{program_id}` | `data.programId` (accrued), else the commission's (or its attribution's) program |
//! | `{event_id}` | the conversion event: `data.eventId` (accrued), else the attribution's event |
//! | `{transaction_id}` | that event's `metadata.transactionId` (or `metadata.transaction_id`), a string or number; else the same as `{event_id}` |
//! | `{event_type}` | the `commission.*` type that fired (not the conversion's own type) |
//! | `{payout_id}` | `data.payoutId`: set on `commission.paid`, empty on the others (the payload only, so a late send of an older event never shows a later payout) |
//!
//! **Sending.** [`spawn_sender`] claims pending rows (`sending`), sends each as a `GET`
//! through [`crate::outbound::Outbound::send`] (the SSRF guard, no redirects, 10 s
//! deadline) with `user-agent: OpenPartner-Postbacks/1`, at most [`CONCURRENCY`] at once,
//! and records the one try: `sent` on a 2xx, else `failed` with `httpStatus`, `error`
//! (`HTTP <code>`, the transport error or `blocked: …`), the response snippet and the
//! duration. **No retries**: a send is tried at most once — a row left `sending` by a
//! stopped server is marked `failed` at the next start instead of being sent again.
//! Pending rows are durable: they are sent after a restart. The sender does not poll: it
//! looks for pending rows at start and whenever [`wake`] is called ([`fan_out`] calls it
//! when it added sends; the sender's claim job is queued behind the job that is fanning
//! out, so it sees those rows).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rusqlite::Connection;
use serde_json::Value;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use crate::domain::postbacks::{expand, is_supported, MacroValues};
use crate::error::ApiResult;
use crate::outbound::OutboundRequest;
use crate::state::AppState;
use crate::store::postbacks::{self as store, ClaimedSend, NewSend, SendResult};

/// Most postback sends in flight at once.
pub const CONCURRENCY: usize = 16;

/// The `user-agent` of every postback request.
pub const USER_AGENT: &str = "OpenPartner-Postbacks/1";

/// The error recorded for a send a stopped server left unfinished.
pub const INTERRUPTED: &str = "interrupted: the server stopped during the send (not retried)";

/// Records one pending send per enabled postback of the event's partner (`data.partnerId`)
/// subscribed to `event_type` and created at or before `recorded_at` (the event's outbox
/// time: a postback never fires for events older than itself, as webhook endpoints do
/// not), with its URL expanded (see the module docs for each macro's
/// value). `event_id` is the outbox envelope id (`evt_…`). Runs inside the caller's
/// database job; returns how many sends it added (0 for a type postbacks do not support,
/// an event without `partnerId`, or an event already fanned out). Errors: database errors
/// (500; the caller's job rolls back).
pub fn fan_out(
    c: &Connection,
    tenant_id: &str,
    event_id: &str,
    event_type: &str,
    data: &Value,
    recorded_at: &str,
    now_iso: &str,
) -> ApiResult<usize> {
    if !is_supported(event_type) {
        return Ok(0);
    }
    let Some(partner_id) = text(data, "partnerId") else {
        return Ok(0);
    };
    let subscribers = store::subscribers(c, tenant_id, &partner_id, event_type, recorded_at)?;
    if subscribers.is_empty() {
        return Ok(0);
    }
    let values = macro_values(c, tenant_id, event_type, data)?;
    let mut added = 0;
    for s in &subscribers {
        let url = expand(&s.url, &values);
        let id = crate::util::new_id();
        let send = NewSend {
            id: &id,
            postback_id: &s.id,
            event_id,
            event_type,
            url: &url,
            now: now_iso,
        };
        if store::insert_pending(c, tenant_id, &send)? {
            added += 1;
        }
    }
    if added > 0 {
        wake();
    }
    Ok(added)
}

/// Field `key` of `data` as text: a string as it is, a number in its exact JSON form;
/// `None` when absent, null, empty or another type.
fn text(data: &Value, key: &str) -> Option<String> {
    match data.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The macro values of one event (the table in the module docs).
fn macro_values(
    c: &Connection,
    tenant_id: &str,
    event_type: &str,
    data: &Value,
) -> ApiResult<MacroValues> {
    let commission_id = text(data, "commissionId");
    let ctx = match &commission_id {
        Some(id) => store::commission_context(c, tenant_id, id)?.unwrap_or_default(),
        None => store::CommissionContext::default(),
    };
    let event_id = text(data, "eventId").or_else(|| ctx.event_id.clone());
    let metadata = match &event_id {
        Some(e) if ctx.event_id.as_ref() == Some(e) => ctx.event_metadata.clone(),
        Some(e) => store::event_metadata(c, tenant_id, e)?,
        None => None,
    };
    let transaction_id = metadata
        .and_then(|m| serde_json::from_str::<Value>(&m).ok())
        .and_then(|m| text(&m, "transactionId").or_else(|| text(&m, "transaction_id")))
        .or_else(|| event_id.clone());
    Ok(MacroValues {
        click_id: text(data, "clickId").or(ctx.click_id),
        partner_id: text(data, "partnerId").or(ctx.partner_id),
        commission_id,
        commission_amount: text(data, "amount").or(ctx.amount),
        currency: text(data, "currency").or(ctx.currency),
        event_id,
        transaction_id,
        event_type: Some(event_type.to_owned()),
        program_id: text(data, "programId").or(ctx.program_id),
        payout_id: text(data, "payoutId"),
    })
}

/// Counts [`wake`] calls (process-wide); each sender compares it with the value it last
/// acted on, so no wake is lost between two looks.
static WAKES: AtomicU64 = AtomicU64::new(0);

/// Wakes the waiting senders.
static WAKE: Notify = Notify::const_new();

/// Tells the senders that pending sends may exist ([`fan_out`] calls it after adding
/// some). Process-wide: every server of the process looks once (one claim job each).
pub fn wake() {
    WAKES.fetch_add(1, Ordering::SeqCst);
    WAKE.notify_waiters();
}

/// Start-up work of the sender, in one job: marks the sends a stopped server left
/// `sending` as `failed` ([`INTERRUPTED`]); returns whether pending sends exist.
pub fn recover(c: &Connection, now_iso: &str) -> ApiResult<bool> {
    let failed = store::fail_interrupted(c, INTERRUPTED, now_iso)?;
    if failed > 0 {
        tracing::warn!(
            failed,
            "postbacks: sends interrupted by a stop marked failed"
        );
    }
    Ok(store::has_pending(c)?)
}

/// Starts the postback sender (see the module docs): runs [`recover`] as one start-up job
/// (blocking the caller until it commits, as the server's other start-up work does), then
/// on a task of the current runtime sends pending rows whenever [`wake`] was called (no
/// polling: an idle server runs no sender jobs). Returns the task's handle (abort it to
/// stop the sender; sends in flight finish on their own tasks).
pub fn spawn_sender(state: AppState) -> JoinHandle<()> {
    let seen = WAKES.load(Ordering::SeqCst);
    let now = state.now_iso();
    let pending = match state.db.with_blocking(move |c| recover(c, &now)) {
        Ok(Ok(p)) => p,
        _ => {
            tracing::warn!("postbacks: start-up recovery failed; looking for pending sends");
            true
        }
    };
    tokio::spawn(run_sender(state, seen, pending))
}

/// The sender loop: waits for a wake (or starts at once when `look` is set), claims as many
/// pending sends as there are free slots and sends each on its own task.
async fn run_sender(state: AppState, mut seen: u64, mut look: bool) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    loop {
        let woken = WAKE.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        if !look && WAKES.load(Ordering::SeqCst) == seen {
            woken.await;
        }
        seen = WAKES.load(Ordering::SeqCst);
        let Ok(first) = slots.clone().acquire_owned().await else {
            return;
        };
        let free = slots.available_permits() + 1;
        let claimed = match state
            .db
            .call(move |c| Ok(store::claim_pending(c, free)?))
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "postbacks: could not claim sends");
                Vec::new()
            }
        };
        // a full batch may have left more behind: look again once a slot is free
        look = claimed.len() == free;
        let mut permit = Some(first);
        for send in claimed {
            // only this loop takes permits, so the ones counted above are still free
            let Some(p) = permit
                .take()
                .or_else(|| slots.clone().try_acquire_owned().ok())
            else {
                break;
            };
            tokio::spawn(send_one(state.clone(), send, p));
        }
    }
}

/// Sends one claimed postback as a `GET` and records its one try.
async fn send_one(state: AppState, send: ClaimedSend, _permit: OwnedSemaphorePermit) {
    let at = state.now_iso();
    let result = state
        .outbound
        .send(OutboundRequest {
            method: http::Method::GET,
            url: send.url,
            headers: vec![("user-agent".into(), USER_AGENT.into())],
            body: None,
        })
        .await;
    let id = send.id;
    let recorded = state
        .db
        .call(move |c| {
            let status = if result.is_success() {
                "sent"
            } else {
                "failed"
            };
            store::record_result(
                c,
                &id,
                &SendResult {
                    status,
                    http_status: result.http_status,
                    error: result.error.as_deref(),
                    response_snippet: result.response_snippet.as_deref(),
                    duration_ms: result.duration_ms,
                    at: &at,
                },
            )?;
            Ok(())
        })
        .await;
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "postbacks: could not record a send");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postbacks::{insert, list_attempts, NewPostback};
    use serde_json::json;

    const T: &str = "tenant";

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut c).unwrap();
        for (id, slug) in [(T, "one"), ("t2", "two")] {
            crate::store::tenants::insert_if_absent(&c, id, slug, slug, "2026-01-01T00:00:00.000Z")
                .unwrap();
        }
        c
    }

    fn postback(c: &Connection, id: &str, partner: &str, events: &[&str], enabled: bool) {
        let events: Vec<String> = events.iter().map(|e| e.to_string()).collect();
        insert(
            c,
            T,
            &NewPostback {
                id,
                partner_id: partner,
                url: "https://cb.example/p?c={commission_id}&a={commission_amount}&t={event_type}&k={click_id}",
                events: &events,
                enabled,
                now: "2026-01-01T00:00:00.000Z",
            },
        )
        .unwrap();
    }

    #[test]
    fn fan_out_adds_one_send_per_enabled_subscribed_postback_once() {
        let c = db();
        postback(&c, "pb-approved", "p1", &["commission.approved"], true);
        postback(
            &c,
            "pb-both",
            "p1",
            &["commission.accrued", "commission.approved"],
            true,
        );
        postback(&c, "pb-off", "p1", &["commission.approved"], false);
        postback(&c, "pb-paid", "p1", &["commission.paid"], true);
        postback(&c, "pb-other", "p2", &["commission.approved"], true);
        let data =
            json!({"commissionId": "c 1", "partnerId": "p1", "amount": "12.50", "currency": "USD"});
        let now = "2026-01-02T00:00:00.000Z";
        assert_eq!(
            fan_out(&c, T, "evt_1", "commission.approved", &data, now, now).unwrap(),
            2
        );
        assert_eq!(
            fan_out(&c, T, "evt_1", "commission.approved", &data, now, now).unwrap(),
            0,
            "an event fans out to a postback once"
        );
        let sent = list_attempts(&c, T, "pb-both").unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].status, "pending");
        assert_eq!(sent[0].event_id, "evt_1");
        assert_eq!(
            sent[0].url,
            "https://cb.example/p?c=c%201&a=12.50&t=commission.approved&k="
        );
        assert!(list_attempts(&c, T, "pb-off").unwrap().is_empty());
        assert!(list_attempts(&c, T, "pb-paid").unwrap().is_empty());
        assert!(list_attempts(&c, T, "pb-other").unwrap().is_empty());
        // another tenant's event, an unsupported type, an event without a partner: nothing
        assert_eq!(
            fan_out(&c, "t2", "evt_2", "commission.approved", &data, now, now).unwrap(),
            0
        );
        assert_eq!(
            fan_out(&c, T, "evt_3", "partner.created", &data, now, now).unwrap(),
            0
        );
        assert_eq!(
            fan_out(
                &c,
                T,
                "evt_4",
                "commission.approved",
                &json!({"amount": "1"}),
                now,
                now
            )
            .unwrap(),
            0
        );
        // a new event is a new send
        assert_eq!(
            fan_out(&c, T, "evt_5", "commission.approved", &data, now, now).unwrap(),
            2
        );
        assert_eq!(list_attempts(&c, T, "pb-both").unwrap().len(), 2);
    }

    #[test]
    fn claimed_sends_are_not_claimed_again_and_interrupted_ones_fail() {
        let c = db();
        postback(&c, "pb", "p1", &["commission.accrued"], true);
        let now = "2026-01-02T00:00:00.000Z";
        for e in ["evt_1", "evt_2", "evt_3"] {
            let data = json!({"commissionId": e, "partnerId": "p1"});
            fan_out(&c, T, e, "commission.accrued", &data, now, now).unwrap();
        }
        let first = store::claim_pending(&c, 2).unwrap();
        assert_eq!(first.len(), 2);
        let rest = store::claim_pending(&c, 2).unwrap();
        assert_eq!(rest.len(), 1);
        assert!(store::claim_pending(&c, 2).unwrap().is_empty());
        assert!(!store::has_pending(&c).unwrap());
        assert!(!recover(&c, now).unwrap());
        let log = list_attempts(&c, T, "pb").unwrap();
        assert!(log
            .iter()
            .all(|a| a.status == "failed" && a.error.as_deref() == Some(INTERRUPTED)));
        let ids: Vec<&str> = log.iter().map(|a| a.event_id.as_str()).collect();
        assert_eq!(ids, ["evt_1", "evt_2", "evt_3"], "oldest first");
    }
}
