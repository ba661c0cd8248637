//! `events track | import`: conversion events (`POST /attribution/events`, API.md §3.4).
//!
//! # Idempotent re-runs of `events import` (the decision)
//!
//! The base API does not deduplicate events, so importing the same file twice would double
//! every commission unless the CLI prevents it. Two mechanisms were weighed:
//!
//! 1. **Idempotency keys derived from the line** — used whenever the server advertises the
//!    `idempotency` extension ([`LineKeys`]). A line with an `id` field is sent with
//!    `Idempotency-Key: events-import:id:<id>`; a line without one with
//!    `events-import:sha256:<hex of the trimmed line>` for the first occurrence of that
//!    content in the file and `…:<hex>:<n>` for its n-th occurrence. Identical lines are
//!    ordinary (the same user buying the same thing again), so each is its own event, while
//!    a re-run of the same file sends the same keys: the server answers the stored response
//!    with `Idempotent-Replayed: true`, counted as `replayed`, and writes nothing. (The first
//!    occurrence keeps the key of earlier versions, so re-running a file they imported adds
//!    exactly the lines they merged.) Chosen first because the server itself guarantees
//!    exactly-once (also across machines, concurrent runs and a crash between "sent" and
//!    "recorded locally"), and because it lets the SDK safely resend after timeouts and
//!    5xx. Limits: keys are stored per credential and for 24 h (API.md §5); inserting or
//!    removing an identical line earlier in the file shifts the occurrence numbers of the
//!    later copies (give lines an `id` when the file is edited between runs); a line whose
//!    `id` was already imported with a different body is `invalid` (422
//!    `idempotency_key_reused`) instead of silently overwriting or doubling.
//! 2. **A local checkpoint file** — used only when the server lacks `idempotency`. The file
//!    (`<FILE>.checkpoint`, or `--checkpoint PATH`) starts with the SHA-256 of the input and
//!    lists the line numbers the server acknowledged; a re-run does not send them
//!    (`replayed`). A changed input file is refused. Lines that share an `id` are one event
//!    as with keys ([`FirstLineById`]): only the first is sent, the copies are `replayed`,
//!    and a copy with a different event is `invalid`. An `id` imported from another file
//!    is not recognised (only the server's key store could), so ids are not deduplicated
//!    across files. Without idempotency the SDK never
//!    resends an event after it may have reached the server (API.md §6), so a line that
//!    failed that way is not in the checkpoint and is re-sent on the next run — the one case
//!    that can double, and the reason keys are preferred.
//!
//! Every line goes through the bulk runner ([`crate::bulk`]) and the SDK's
//! `events().track(..).idempotency_key(..).retry(RetryPolicy::bulk())`, which waits out
//! rate limits and keys in flight and reports the server's `Idempotent-Replayed` answer.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use openpartner::capabilities::Extension;
use openpartner::types::TrackEvent;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::bulk::{self, Done, Line};
use crate::cmd::common::{parse_decimal, parse_time};
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
    /// "metadata"?}. Every line is its own event, also when identical lines repeat; lines
    /// that share an `id` are one event (sent once, the copies `replayed`).
    /// Re-running the same file never doubles an event: when the server advertises the
    /// `idempotency` extension every line is sent with an Idempotency-Key derived from its
    /// `id` (else from a SHA-256 of the line plus the occurrence number of that content in
    /// the file), and replays are counted as `replayed`; otherwise a checkpoint file of
    /// completed line numbers (FILE.checkpoint) is written and completed lines are not sent
    /// again on the next run.
    #[command(after_long_help = crate::bulk::OUTCOMES_HELP)]
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
    /// Write a per-line CSV report (line,outcome,id,reason).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
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
    let mut req = client.events().track(&ev);
    if let Some(k) = &a.idempotency_key {
        req = req.idempotency_key(k);
    }
    let r = req.send().await.context("tracking the event")?;
    output::print_object(
        ctx.format(),
        Vec::new(),
        &to_json(&r.data)?,
        output::stdout(),
    )
}

/// The idempotency keys of an import file's lines, in file order: from the line's `id`
/// field, else from a SHA-256 of the trimmed line and the occurrence number of that
/// content so far (see the module docs).
#[derive(Debug, Default)]
pub struct LineKeys {
    seen: HashMap<[u8; 32], u64>,
}

impl LineKeys {
    /// The key of the next line (call once per line, in file order).
    pub fn next_key(&mut self, raw: &str, value: &Value) -> String {
        match line_id(value) {
            Some(id) if id.len() <= 200 && id.bytes().all(|b| b.is_ascii_graphic()) => {
                format!("events-import:id:{id}")
            }
            Some(id) => format!("events-import:idsha256:{}", hex::encode(Sha256::digest(id))),
            None => {
                let digest: [u8; 32] = Sha256::digest(raw.trim().as_bytes()).into();
                let n = self.seen.entry(digest).or_insert(0);
                *n += 1;
                let hex = hex::encode(digest);
                if *n == 1 {
                    format!("events-import:sha256:{hex}")
                } else {
                    format!("events-import:sha256:{hex}:{n}")
                }
            }
        }
    }
}

/// The `id` field of a line (a non-empty string, or a number as written), if any.
fn line_id(value: &Value) -> Option<String> {
    match value.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Checkpoint mode's stand-in, within one file, for the server's idempotency store: the
/// first line of each `id` and a SHA-256 of its event. As with `idempotency`, where every
/// line with that `id` carries the same key, a later line with the same `id` is the same
/// event (replayed, not sent again) and one with a different event is invalid (the
/// server's 422 `idempotency_key_reused`). Lines without `id` are not tracked: identical
/// lines are separate events.
#[derive(Debug, Default)]
pub struct FirstLineById {
    first: HashMap<String, (u64, [u8; 32])>,
}

/// What [`FirstLineById::check`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdUse {
    /// No `id`, or its first line: send the event.
    First,
    /// The same `id` and event as this earlier line: already in this import.
    SameAs(u64),
    /// The same `id` as this earlier line, with a different event.
    Conflict(u64),
}

impl FirstLineById {
    /// Registers line `line` (call for every valid line, in file order, also for lines the
    /// checkpoint completed) and says whether its event is to be sent.
    pub fn check(&mut self, line: u64, value: &Value, event: &TrackEvent) -> IdUse {
        let Some(id) = line_id(value) else {
            return IdUse::First;
        };
        let body = serde_json::to_vec(event).unwrap_or_default();
        let digest: [u8; 32] = Sha256::digest(&body).into();
        match self.first.get(&id) {
            None => {
                self.first.insert(id, (line, digest));
                IdUse::First
            }
            Some(&(first, d)) if d == digest => IdUse::SameAs(first),
            Some(&(first, _)) => IdUse::Conflict(first),
        }
    }
}

fn parse_event(value: Value) -> std::result::Result<TrackEvent, String> {
    let mut v = value;
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
    }
    serde_json::from_value::<TrackEvent>(v).map_err(|e| format!("not an event: {e}"))
}

/// What to do with one valid line.
enum Work {
    /// Send the event, with this idempotency key (none in checkpoint mode).
    Track(TrackEvent, Option<String>),
    /// Checkpoint mode: the checkpoint says an earlier run completed it, or an earlier line
    /// of this file has the same `id` and event ([`FirstLineById`]).
    Completed,
}

async fn import(ctx: &Ctx, a: ImportArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    let caps = client.refresh_capabilities().await?;
    let client = bulk::bulk_client(&client);
    let opts = bulk::Options {
        command: "events import",
        concurrency: a.concurrency as usize,
        report: a.report.clone(),
        format: ctx.format(),
    };
    let total = bulk::count_ndjson(&a.file)?;
    let lines = bulk::ndjson_lines(&a.file)?;
    let send = |w: Work| {
        let client = &client;
        async move {
            match w {
                Work::Completed => Done::replayed(""),
                Work::Track(ev, key) => {
                    let mut req = client.events().track(&ev);
                    if let Some(k) = key {
                        req = req.idempotency_key(k);
                    }
                    match req.send().await {
                        Ok(r) if r.meta.replayed => Done::replayed(r.data.event_id),
                        Ok(r) => Done::created(r.data.event_id),
                        Err(e) => Done::from_error(&e),
                    }
                }
            }
        }
    };
    let summary = if caps.has(Extension::Idempotency) {
        output::note("the server supports idempotency keys: re-runs are replayed, not doubled");
        let mut keys = LineKeys::default();
        let lines = lines.map(move |r| {
            r.map(|(n, parsed)| Line {
                line: n,
                item: parsed.and_then(|(raw, value)| {
                    // Every valid-JSON line takes its occurrence number, also if it is not
                    // an event: the numbering must not depend on validity.
                    let key = keys.next_key(&raw, &value);
                    parse_event(value).map(|ev| Work::Track(ev, Some(key)))
                }),
            })
        });
        bulk::run(&opts, total, lines, send, |_| Ok(())).await?
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
        let mut ids = FirstLineById::default();
        let lines = lines.map(move |r| {
            r.map(|(n, parsed)| Line {
                line: n,
                item: if done.contains(&n) {
                    // Still registered: a later copy of a completed line is no new event.
                    if let Ok((_, value)) = parsed {
                        if let Ok(ev) = parse_event(value.clone()) {
                            ids.check(n, &value, &ev);
                        }
                    }
                    Ok(Work::Completed)
                } else {
                    parsed.and_then(|(_, value)| {
                        let ev = parse_event(value.clone())?;
                        match ids.check(n, &value, &ev) {
                            IdUse::First => Ok(Work::Track(ev, None)),
                            IdUse::SameAs(_) => Ok(Work::Completed),
                            IdUse::Conflict(first) => Err(format!(
                                "id already used by line {first} for a different event"
                            )),
                        }
                    })
                },
            })
        });
        bulk::run(&opts, total, lines, send, |l| {
            if l.outcome == bulk::Outcome::Created {
                cp.record(l.line)?;
            }
            Ok(())
        })
        .await?
    };
    summary.finish(&opts)
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
        let mut keys = LineKeys::default();
        let v: Value = serde_json::from_str(r#"{"id":"ord-1","userId":"u"}"#).expect("json");
        assert_eq!(keys.next_key("x", &v), "events-import:id:ord-1");
        // The same id again is the same event (a replay), not a second one.
        assert_eq!(keys.next_key("x", &v), "events-import:id:ord-1");
        let v: Value = serde_json::from_str(r#"{"userId":"u"}"#).expect("json");
        let k1 = keys.next_key(r#"{"userId":"u"}"#, &v);
        assert!(k1.starts_with("events-import:sha256:") && k1.len() < 255);
        // Identical content again (whitespace aside) is the 2nd, 3rd… occurrence: own keys.
        let k2 = keys.next_key("  {\"userId\":\"u\"}\n", &v);
        let k3 = keys.next_key(r#"{"userId":"u"}"#, &v);
        assert_eq!(k2, format!("{k1}:2"));
        assert_eq!(k3, format!("{k1}:3"));
        let other = keys.next_key(r#"{"userId":"v"}"#, &v);
        assert!(!other.ends_with(":2") && other != k1);
        // A re-run of the same file computes the same keys.
        let mut again = LineKeys::default();
        let rerun: Vec<String> = [r#"{"userId":"u"}"#, r#"{"userId":"u"}"#]
            .iter()
            .map(|l| again.next_key(l, &v))
            .collect();
        assert_eq!(rerun, [k1, k2]);
    }

    #[test]
    fn lines_sharing_an_id_are_one_event_without_keys() {
        let mut ids = FirstLineById::default();
        let line = |text: &str| {
            let v: Value = serde_json::from_str(text).expect("json");
            let ev = parse_event(v.clone()).expect("event");
            (v, ev)
        };
        let (v, ev) = line(r#"{"id":"ord-1","userId":"u","type":"sale","value":10}"#);
        assert_eq!(ids.check(2, &v, &ev), IdUse::First);
        assert_eq!(ids.check(5, &v, &ev), IdUse::SameAs(2));
        // Spacing and field order aside, the same event is the same.
        let (v2, ev2) = line(r#"{ "value":10, "type":"sale", "userId":"u", "id":"ord-1" }"#);
        assert_eq!(ids.check(6, &v2, &ev2), IdUse::SameAs(2));
        let (v3, ev3) = line(r#"{"id":"ord-1","userId":"u","type":"sale","value":11}"#);
        assert_eq!(ids.check(7, &v3, &ev3), IdUse::Conflict(2));
        // A numeric id is the same id as its digits; lines without id are never merged.
        let (v4, ev4) = line(r#"{"id":7,"userId":"u","type":"sale"}"#);
        let (v5, ev5) = line(r#"{"id":"7","userId":"u","type":"sale"}"#);
        assert_eq!(ids.check(8, &v4, &ev4), IdUse::First);
        assert_eq!(ids.check(9, &v5, &ev5), IdUse::SameAs(8));
        let (v6, ev6) = line(r#"{"userId":"u","type":"sale"}"#);
        assert_eq!(ids.check(10, &v6, &ev6), IdUse::First);
        assert_eq!(ids.check(11, &v6, &ev6), IdUse::First);
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
