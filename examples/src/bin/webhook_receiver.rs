//! A webhook receiver with the `openpartner` SDK: an axum server that verifies every
//! delivery ([`openpartner::webhooks::verify`]: signature over the raw body, timestamp within
//! 300 s either way) and handles each delivery once, de-duplicating on the
//! `x-openpartner-delivery` id (the same on every retry of a delivery, API.md §3.6).
//!
//! ```sh
//! export OPENPARTNER_WEBHOOK_SECRET=whsec_…      # printed once by `openpartner webhooks create`
//! cargo run -p openpartner-examples --bin webhook_receiver -- 127.0.0.1:4242
//! openpartner webhooks create --url http://127.0.0.1:4242/ --event '*'
//! ```
//!
//! Answers: `200` for a delivery handled now, `200` for a duplicate (already handled, so the
//! server stops retrying it), `400` for one that fails verification (the reason is printed
//! on stderr, never the secret). Prints `listening on http://<addr>/` first, then one line per
//! delivery: `accepted <type> <evt_id> delivery=<id>`, `duplicate delivery=<id>` or
//! `rejected: <reason>`. The address argument defaults to `127.0.0.1:4242`; port 0 picks a
//! free port. The set of handled ids lives in memory: a real receiver keeps it in its
//! database, written in the same transaction as the work the event triggers.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use openpartner::webhooks::{self, Event};

/// What the receiver shares between requests.
struct Receiver {
    secret: String,
    handled: Mutex<HashSet<String>>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let secret = std::env::var("OPENPARTNER_WEBHOOK_SECRET")
        .context("set OPENPARTNER_WEBHOOK_SECRET (the endpoint's whsec_… secret)")?;
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4242".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    say(&format!("listening on http://{}/", listener.local_addr()?));
    let state = Arc::new(Receiver {
        secret,
        handled: Mutex::new(HashSet::new()),
    });
    let app = axum::Router::new()
        .route("/", post(receive))
        .with_state(state);
    axum::serve(listener, app).await?;
    Ok(())
}

/// `POST /`: verify, de-duplicate, handle.
async fn receive(
    State(rx): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let event = match webhooks::verify(&rx.secret, &headers, &body, webhooks::DEFAULT_TOLERANCE) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("rejected delivery: {e}");
            say(&format!("rejected: {e}"));
            return (StatusCode::BAD_REQUEST, "verification failed\n");
        }
    };
    // The delivery id is stable across retries; fall back to the envelope id without it.
    let key = event.delivery_id().unwrap_or(event.id()).to_owned();
    let first_time = rx
        .handled
        .lock()
        .map(|mut set| set.insert(key.clone()))
        .unwrap_or(false);
    if !first_time {
        say(&format!("duplicate delivery={key}"));
        return (StatusCode::OK, "already handled\n");
    }
    say(&format!(
        "accepted {} {} delivery={key}{}",
        event.event_type(),
        event.id(),
        describe(&event)
    ));
    (StatusCode::OK, "ok\n")
}

/// A few typed fields, to show what a handler gets.
fn describe(event: &Event) -> String {
    match event {
        Event::CommissionAccrued { data, .. } => {
            format!(
                " commission={} {} {}",
                data.commission_id, data.amount, data.currency
            )
        }
        Event::CommissionPaid { data, .. } => format!(
            " commission={} {} {} payout={}",
            data.commission_id, data.amount, data.currency, data.payout_id
        ),
        Event::PayoutCreated { data, .. } => {
            format!(
                " payout={} {} {}",
                data.payout_id, data.amount, data.currency
            )
        }
        Event::PartnerCreated { data, .. } => format!(" partner={}", data.partner_id),
        // `openpartner webhooks test`: acknowledge, never act on it.
        Event::WebhookTest { .. } => " (synthetic test event)".to_owned(),
        Event::Unknown { event, .. } => format!(" (unknown type {event}, kept raw)"),
        _ => String::new(),
    }
}

/// One line on stdout, flushed at once (the output is read line by line).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
