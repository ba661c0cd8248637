//! `events track | import`: conversion events (`POST /attribution/events`, API.md §3.4).
//!
//! # Idempotent re-runs of `events import` (the decision)
//!
//! The base API does not deduplicate events, so importing the same file twice would double
//! every commission unless the CLI prevents it. Two mechanisms were weighed:
//!
//! 1. **Idempotency keys derived from the event** — used whenever the server advertises the
//!    `idempotency` extension. Each line is sent with `Idempotency-Key: events-import:id:<id>`
//!    when the line has an `id` field, else `events-import:sha256:<hex>` of the line's bytes.
//!    A re-run sends the same keys; the server answers the stored response with
//!    `Idempotent-Replayed: true`, which is counted as `replayed` and writes nothing. This is
//!    chosen first because the server itself guarantees exactly-once (also across machines,
//!    concurrent runs and a crash between "sent" and "recorded locally"), and because it lets
//!    the CLI safely retry timeouts and 5xx answers. Limits: keys are stored per credential
//!    and for 24 h (API.md §5); two byte-identical lines without `id` count as one event
//!    (give them distinct `id`s if they are really two); a line whose `id` was already
//!    imported with a different body fails with 422 `idempotency_key_reused` instead of
//!    silently overwriting or doubling.
//! 2. **A local checkpoint file** — used only when the server lacks `idempotency`. The file
//!    (`<FILE>.checkpoint`, or `--checkpoint PATH`) starts with the SHA-256 of the input and
//!    lists the line numbers the server acknowledged; a re-run skips them (`skipped`). A
//!    changed input file is refused. Without idempotency the SDK never resends an event after
//!    it may have reached the server (API.md §6), so a line that failed that way is not in
//!    the checkpoint and is re-sent on the next run — the one case that can double, and the
//!    reason keys are preferred.
//!
//! HTTP 429 never fails a row: the import waits for `Retry-After` and resends (a 429 was not
//! processed). Exit code 5 when any line is invalid or failed; the summary counts created,
//! replayed, skipped, invalid (fix the line: not JSON, not an event, 400/404/422) and failed
//! (re-run: network or server errors after retries) lines.
//!
//! In key mode every line goes through the SDK's `Events::track_keyed`, which reports the
//! server's `Idempotent-Replayed` answer.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use openpartner::capabilities::Extension;
use openpartner::types::TrackEvent;
use openpartner::Client;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cmd::common::{parse_decimal, parse_time};
use crate::cmd::ndjson::{self, RowOutcome};
use crate::cmd::to_json;
use crate::context::Ctx;
use crate::exit;
use crate::output;

/// `events …`
#[derive(Debug, Subcommand)]
pub enum EventsCmd {
    /// Track one conversion event and print the attribution outcome.
    Track(TrackArgs),
    /// Import conversion events from an NDJSON file, idempotently.
    ///
    /// One JSON object per line: {"id"?, "userId", "type", "value"?, "currency"?, "ts"?,
    /// "metadata"?}. Re-running the same file never doubles an event: when the server
    /// advertises the `idempotency` extension every line is sent with an Idempotency-Key
    /// derived from its `id` (else from a SHA-256 of the line), and replays are counted as
    /// `replayed`; otherwise a checkpoint file of completed line numbers (FILE.checkpoint)
    /// is written and completed lines are skipped on the next run. Keys are preferred
    /// because the server then guarantees exactly-once even after a crash or a timeout.
    /// Rate-limited requests (429) wait for Retry-After instead of failing. Exit code 5 when
    /// any line failed.
    Import(ImportArgs),
}

/// `events track` flags.
#[derive(Debug, Args)]
pub struct TrackArgs {
    /// Your user id.
    #[arg(long)]
    pub user_id: String,
    /// Event type, e.g. sale, lead, signup.
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: String,
    /// Value in major units (e.g. 49.90).
    #[arg(long)]
    pub value: Option<String>,
    /// 3-letter currency (server default USD).
    #[arg(long)]
    pub currency: Option<String>,
    /// Event time (RFC 3339; server default now).
    #[arg(long)]
    pub ts: Option<String>,
    /// Metadata as a JSON object.
    #[arg(long, value_name = "JSON")]
    pub metadata: Option<String>,
    /// Idempotency key (the same key never records the event twice, with `idempotency`).
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

/// `events import` flags.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// NDJSON file.
    pub file: PathBuf,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Checkpoint file (used only when the server lacks `idempotency`; default FILE.checkpoint).
    #[arg(long, value_name = "PATH")]
    pub checkpoint: Option<PathBuf>,
}

/// Runs `events …`.
pub async fn run(ctx: &Ctx, cmd: EventsCmd) -> Result<()> {
    match cmd {
        EventsCmd::Track(a) => track(ctx, a).await,
        EventsCmd::Import(a) => import(ctx, a).await,
    }
}

async fn track(ctx: &Ctx, a: TrackArgs) -> Result<()> {
    let mut ev = TrackEvent::new(&a.user_id, &a.kind);
    if let Some(v) = &a.value {
        ev = ev.value(parse_decimal(v, "--value")?);
    }
    if let Some(c) = &a.currency {
        ev = ev.currency(c.to_uppercase());
    }
    if let Some(t) = &a.ts {
        ev = ev.ts(parse_time(t, false)?);
    }
    if let Some(m) = &a.metadata {
        let v: Value = serde_json::from_str(m)
            .map_err(|e| exit::usage(format!("--metadata is not valid JSON: {e}")))?;
        ev = ev.metadata(v);
    }
    let (client, _) = ctx.client()?;
    let events = client.events();
    let r = match &a.idempotency_key {
        Some(k) => ndjson::wait_on_429(|| events.track_with_key(&ev, k.clone())).await,
        None => ndjson::wait_on_429(|| events.track(&ev)).await,
    }
    .context("tracking the event")?;
    output::print_object(ctx.format(), Vec::new(), &to_json(&r)?, output::stdout())
}

/// The idempotency key of an import line: from its `id` field, else a SHA-256 of the line.
pub fn line_key(raw: &str, value: &Value) -> String {
    let id = match value.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    match id {
        Some(id) if id.len() <= 200 && id.bytes().all(|b| b.is_ascii_graphic()) => {
            format!("events-import:id:{id}")
        }
        Some(id) => format!("events-import:idsha256:{}", hex::encode(Sha256::digest(id))),
        None => format!(
            "events-import:sha256:{}",
            hex::encode(Sha256::digest(raw.trim().as_bytes()))
        ),
    }
}

fn parse_event(value: Value) -> std::result::Result<TrackEvent, String> {
    let mut v = value;
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
    }
    serde_json::from_value::<TrackEvent>(v).map_err(|e| format!("not an event: {e}"))
}

async fn import(ctx: &Ctx, a: ImportArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    let caps = client.refresh_capabilities().await?;
    let started = Instant::now();
    let concurrency = a.concurrency as usize;
    let tally = if caps.has(Extension::Idempotency) {
        output::note("the server supports idempotency keys: re-runs are replayed, not doubled");
        let sender = Arc::new(KeyedSender::new(&client));
        ndjson::run(
            &a.file,
            concurrency,
            &HashSet::new(),
            |_, raw, value| {
                let sender = sender.clone();
                async move {
                    let key = line_key(&raw, &value);
                    match parse_event(value) {
                        Ok(ev) => sender.send(&ev, &key).await,
                        Err(e) => RowOutcome::Invalid(e),
                    }
                }
            },
            |_, _| Ok(()),
        )
        .await?
    } else {
        let cp_path = a.checkpoint.clone().unwrap_or_else(|| {
            let mut p = a.file.clone().into_os_string();
            p.push(".checkpoint");
            PathBuf::from(p)
        });
        output::note(&format!(
            "the server has no idempotency keys: completed lines are recorded in {}",
            cp_path.display()
        ));
        let mut cp = Checkpoint::open(&cp_path, &a.file)?;
        let done = cp.done.clone();
        let client = client.clone();
        ndjson::run(
            &a.file,
            concurrency,
            &done,
            |_, _, value| {
                let events = client.events();
                async move {
                    match parse_event(value) {
                        Ok(ev) => match ndjson::wait_on_429(|| events.track(&ev)).await {
                            Ok(_) => RowOutcome::Created,
                            Err(e) => RowOutcome::from_error(&e),
                        },
                        Err(e) => RowOutcome::Invalid(e),
                    }
                }
            },
            |n, o| {
                if *o == RowOutcome::Created {
                    cp.record(n)?;
                }
                Ok(())
            },
        )
        .await?
    };
    tally.finish("events import", started.elapsed())
}

/// Sends events through the SDK with an explicit idempotency key and reports replays
/// (`Events::track_keyed`). The SDK already retries within its budget; on top of that a
/// line waits out long 429s, waits while the same key is in flight (an identical line),
/// and resends after transport errors or 408/5xx — safe, because the key turns a second
/// delivery into a replay.
struct KeyedSender {
    client: Client,
}

impl KeyedSender {
    fn new(client: &Client) -> KeyedSender {
        KeyedSender {
            client: client.clone(),
        }
    }

    async fn send(&self, ev: &TrackEvent, key: &str) -> RowOutcome {
        let mut failures = 0u32;
        loop {
            let err = match self.client.events().track_keyed(ev, key).await {
                Ok(t) if t.replayed => return RowOutcome::Replayed,
                Ok(_) => return RowOutcome::Created,
                Err(e) => e,
            };
            match err.status() {
                Some(429) => {
                    let wait = err
                        .retry_after()
                        .unwrap_or(Duration::from_secs(1))
                        .clamp(Duration::from_secs(1), Duration::from_secs(300));
                    tokio::time::sleep(wait).await;
                }
                Some(409) if err.code() == Some("idempotency_key_in_flight") => {
                    // The same key (e.g. an identical line) is being processed right now.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Some(408) | Some(500..=599) | None if !err.is_unsupported() => {
                    failures += 1;
                    if failures > 6 {
                        return RowOutcome::Failed(ndjson::reason(&err));
                    }
                    backoff(failures).await;
                }
                _ => return RowOutcome::from_error(&err),
            }
        }
    }
}

async fn backoff(attempt: u32) {
    let ms = 100u64.saturating_mul(1 << attempt.min(6));
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The checkpoint file of completed line numbers (servers without `idempotency`).
struct Checkpoint {
    file: std::fs::File,
    done: HashSet<u64>,
}

const CHECKPOINT_MAGIC: &str = "openpartner-events-checkpoint v1 sha256=";

fn file_sha256(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

impl Checkpoint {
    fn open(path: &Path, input: &Path) -> Result<Checkpoint> {
        let digest = file_sha256(input)?;
        let mut done = HashSet::new();
        if path.exists() {
            let f = std::fs::File::open(path)?;
            let mut lines = BufReader::new(f).lines();
            let header = lines.next().transpose()?.unwrap_or_default();
            if header != format!("{CHECKPOINT_MAGIC}{digest}") {
                return Err(exit::usage(format!(
                    "{} belongs to another version of {}: delete it to import from the start",
                    path.display(),
                    input.display()
                )));
            }
            for l in lines {
                if let Ok(n) = l?.trim().parse::<u64>() {
                    done.insert(n);
                }
            }
            output::note(&format!(
                "{} line(s) already imported per the checkpoint",
                done.len()
            ));
            let file = std::fs::OpenOptions::new().append(true).open(path)?;
            return Ok(Checkpoint { file, done });
        }
        let mut file =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        writeln!(file, "{CHECKPOINT_MAGIC}{digest}")?;
        file.flush()?;
        Ok(Checkpoint { file, done })
    }

    fn record(&mut self, line: u64) -> Result<()> {
        writeln!(self.file, "{line}")?;
        self.file.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_prefer_ids() {
        let v: Value = serde_json::from_str(r#"{"id":"ord-1","userId":"u"}"#).expect("json");
        assert_eq!(line_key("x", &v), "events-import:id:ord-1");
        let v: Value = serde_json::from_str(r#"{"userId":"u"}"#).expect("json");
        let k1 = line_key(r#"{"userId":"u"}"#, &v);
        let k2 = line_key("  {\"userId\":\"u\"}\n", &v);
        assert_eq!(k1, k2);
        assert!(k1.starts_with("events-import:sha256:") && k1.len() < 255);
        let other = line_key(r#"{"userId":"v"}"#, &v);
        assert_ne!(k1, other);
    }

    #[test]
    fn events_parse_with_decimal_values() {
        let v: Value =
            serde_json::from_str(r#"{"id":7,"userId":"u","type":"sale","value":19.99,"currency":"EUR","ts":"2026-11-20T10:00:00.000Z"}"#)
                .expect("json");
        let ev = parse_event(v).expect("event");
        assert_eq!(ev.value, Some(rust_decimal::Decimal::new(1999, 2)));
        assert_eq!(ev.currency.as_deref(), Some("EUR"));
        assert!(parse_event(serde_json::json!({"type":"sale"})).is_err());
    }
}
