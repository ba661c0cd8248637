//! Tracking conversion events with the `openpartner` SDK, safely re-runnable: every event
//! is sent with an `Idempotency-Key` derived from its source row id, and the server's
//! `Idempotent-Replayed` answer tells an event stored now from one stored by an earlier run.
//!
//! ```sh
//! export OPENPARTNER_BASE_URL=http://127.0.0.1:4100   # e.g. from ./scripts/demo.sh
//! export OPENPARTNER_API_KEY=op_…                       # an admin key (or events:write)
//! cargo run -p openpartner-examples --bin track_events -- examples/data/events.ndjson
//! ```
//!
//! The file has one event per line: `{"id", "userId", "type", "value"?, "currency"?, "ts"?,
//! "metadata"?}`, where `id` is your own id of the row (an order number, say). It becomes
//! the key `track-events-example:<id>`, so running the example twice on the same file stores
//! every event once: the second run reports each line as `replayed`. Prints one line per
//! event and a summary; exits non-zero on the first error (a line without `id`, a rejected
//! event, the server unreachable).

use std::collections::BTreeMap;
use std::io::BufRead;

use anyhow::{bail, Context, Result};
use openpartner::types::TrackEvent;
use openpartner::{Client, Credentials};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<()> {
    let base_url = std::env::var("OPENPARTNER_BASE_URL")
        .context("set OPENPARTNER_BASE_URL (e.g. http://127.0.0.1:4100)")?;
    let api_key = std::env::var("OPENPARTNER_API_KEY").context("set OPENPARTNER_API_KEY")?;
    let mut builder = Client::builder()
        .base_url(base_url.as_str())
        .credentials(Credentials::api_key(api_key));
    if let Ok(tenant) = std::env::var("OPENPARTNER_TENANT") {
        builder = builder.tenant(tenant);
    }
    let client = builder.build()?;
    let path = std::env::args()
        .nth(1)
        .context("usage: track_events EVENTS.ndjson")?;
    let file = std::fs::File::open(&path).with_context(|| format!("opening {path}"))?;

    let (mut stored, mut replayed) = (0u64, 0u64);
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {path}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let lineno = n + 1;
        let mut row: Value =
            serde_json::from_str(&line).with_context(|| format!("line {lineno}: not JSON"))?;
        // The source row id is the idempotency key; it is not part of the event body.
        let id = match row.as_object_mut().and_then(|o| o.remove("id")) {
            Some(Value::String(id)) if !id.is_empty() => id,
            _ => bail!("line {lineno}: an \"id\" (your own row id) is required for the key"),
        };
        let event: TrackEvent =
            serde_json::from_value(row).with_context(|| format!("line {lineno}: not an event"))?;
        let tracked = client
            .events()
            .track(&event)
            .idempotency_key(format!("track-events-example:{id}"))
            .send()
            .await
            .with_context(|| format!("line {lineno} ({id})"))?;
        let status = tracked.data.attribution.status.as_str().to_string();
        if tracked.meta.replayed {
            replayed += 1;
        } else {
            stored += 1;
        }
        println!(
            "{id}: event {} {} ({status}, {} touch(es))",
            tracked.data.event_id,
            if tracked.meta.replayed {
                "replayed"
            } else {
                "stored"
            },
            tracked.data.attribution.touches.len()
        );
        *outcomes.entry(status).or_default() += 1;
    }
    println!("stored {stored}, replayed {replayed}");
    for (status, n) in &outcomes {
        println!("  {status}: {n}");
    }
    Ok(())
}
