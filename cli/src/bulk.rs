//! The one bulk runner behind `partners import`, `events import`, `clicks import` and
//! `identify --file`.
//!
//! A command turns its file into numbered [`Line`]s (a line that cannot even be parsed is
//! already [`Outcome::Invalid`]) and gives a `send` function that makes one SDK request per
//! line and says what happened ([`Done`]). The runner:
//! - keeps at most `concurrency` requests in flight;
//! - shows an indicatif progress bar (rate and ETA) only when stderr is a terminal;
//! - on Ctrl-C stops starting lines, lets the in-flight ones finish and reports what was not
//!   sent (a second Ctrl-C exits at once);
//! - never waits or retries itself: every command hands the SDK [`RetryPolicy::bulk`]
//!   (see [`bulk_client`]), whose one decision function waits out rate limits;
//! - ends every line in ONE vocabulary ([`OUTCOMES_HELP`]), prints the same summary
//!   (stderr line + the JSON object on stdout in the output format), writes the same
//!   `--report FILE.csv` (line, outcome, id, reason) and exits 5 when any line is failed or
//!   invalid, 130 when interrupted.
//!
//! Re-runs are resumable because every command makes a second send of the same line
//! harmless: idempotency keys derived from the line (events), the server's own unique keys
//! (partner email / external id, click id, identity pair) or a local checkpoint.

use std::future::Future;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use futures::StreamExt;
use openpartner::{Client, RetryPolicy};
use serde::Serialize;
use serde_json::{json, Value};

use crate::exit::{self, Code};
use crate::output::{self, Format};

/// The outcome vocabulary, for every bulk command's `--help`.
pub const OUTCOMES_HELP: &str = "Every line ends in one outcome: created (written by this run) · \
existed (the server already had a record with this line's unique key, e.g. the partner's email \
or external id) · replayed (this line was already applied by an earlier run: the server \
answered from its idempotency store, recognised the same click id or identity, or the local \
checkpoint lists it) · invalid (the line itself is wrong: fix it) · failed (not completed, e.g. \
network or server errors after the SDK's retries: re-run the same command). Rate limits are \
waited out, not failed. The summary goes to stderr and, as a JSON object \
{command,total,created,existed,replayed,invalid,failed,notSent,elapsedMs,problems}, to stdout \
(-o json; the default off a terminal). --report FILE.csv writes one row per processed line \
(line,outcome,id,reason). Exit 5 when any line is invalid or failed, 130 when interrupted \
(Ctrl-C stops sending, lets in-flight requests finish; re-run to send the rest).";

/// What happened to one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Written by this run.
    Created,
    /// The server already had a record with this line's unique key.
    Existed,
    /// Already applied by an earlier run (idempotent replay, same click id / identity,
    /// checkpoint).
    Replayed,
    /// The line itself is wrong (unparsable, fails validation, or refused with 400/404/422).
    Invalid,
    /// Not completed (network, 5xx after retries, credentials…): a re-run may succeed.
    Failed,
}

impl Outcome {
    /// The word used in summaries and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Existed => "existed",
            Outcome::Replayed => "replayed",
            Outcome::Invalid => "invalid",
            Outcome::Failed => "failed",
        }
    }
}

/// The result of sending one line: its outcome, the id of the record (when known) and a
/// one-line reason (for existed, invalid, failed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    /// Outcome.
    pub outcome: Outcome,
    /// Id of the created / existing record, when known.
    pub id: String,
    /// Why (empty for created and replayed).
    pub reason: String,
}

impl Done {
    /// Created with `id`.
    pub fn created(id: impl Into<String>) -> Done {
        Done {
            outcome: Outcome::Created,
            id: id.into(),
            reason: String::new(),
        }
    }
    /// Replayed (already applied by an earlier run), with the record's id when known.
    pub fn replayed(id: impl Into<String>) -> Done {
        Done {
            outcome: Outcome::Replayed,
            id: id.into(),
            reason: String::new(),
        }
    }
    /// Existed, with why.
    pub fn existed(id: impl Into<String>, reason: impl Into<String>) -> Done {
        Done {
            outcome: Outcome::Existed,
            id: id.into(),
            reason: reason.into(),
        }
    }
    /// Invalid, with why.
    pub fn invalid(reason: impl Into<String>) -> Done {
        Done {
            outcome: Outcome::Invalid,
            id: String::new(),
            reason: one_line(&reason.into()),
        }
    }
    /// The outcome of an SDK error: invalid for 400/404/422 (sending the line again
    /// unchanged cannot succeed), else failed.
    pub fn from_error(e: &openpartner::Error) -> Done {
        let outcome = match e.status() {
            Some(400 | 404 | 422) => Outcome::Invalid,
            _ => Outcome::Failed,
        };
        Done {
            outcome,
            id: String::new(),
            reason: one_line(&e.to_string()),
        }
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// One numbered input line: what to send, or why it cannot be sent.
#[derive(Debug)]
pub struct Line<T> {
    /// Line number in the file (1-based; for CSV the header is line 1).
    pub line: u64,
    /// The work item, or the reason the line is invalid.
    pub item: std::result::Result<T, String>,
}

/// A processed line (one row of `--report`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineResult {
    /// Line number.
    pub line: u64,
    /// Outcome.
    pub outcome: Outcome,
    /// Record id, when known.
    pub id: String,
    /// Why (existed, invalid, failed).
    pub reason: String,
}

/// How a run is set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// The command, for messages and the summary (`partners import`).
    pub command: &'static str,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Where to write the per-line CSV report.
    pub report: Option<PathBuf>,
    /// Output format of the summary on stdout.
    pub format: Format,
}

/// The SDK client a bulk command sends with: the command's client with
/// [`RetryPolicy::bulk`], so that rate limits and keys in flight are waited out by the SDK.
pub fn bulk_client(client: &Client) -> Client {
    client.with_retry(RetryPolicy::bulk())
}

/// Totals of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Created.
    pub created: u64,
    /// Existed.
    pub existed: u64,
    /// Replayed.
    pub replayed: u64,
    /// Invalid.
    pub invalid: u64,
    /// Failed.
    pub failed: u64,
}

impl Counts {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Created => self.created += 1,
            Outcome::Existed => self.existed += 1,
            Outcome::Replayed => self.replayed += 1,
            Outcome::Invalid => self.invalid += 1,
            Outcome::Failed => self.failed += 1,
        }
    }
    /// Lines with an outcome.
    pub fn processed(&self) -> u64 {
        self.created + self.existed + self.replayed + self.invalid + self.failed
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Summary {
    /// Lines in the input.
    pub total: u64,
    /// Tallies.
    pub counts: Counts,
    /// The processed lines kept, in line order: every line when a report was asked for,
    /// else only the invalid and failed ones (memory stays bounded by the problems).
    pub lines: Vec<LineResult>,
    /// Whether Ctrl-C stopped the run.
    pub interrupted: bool,
    /// Wall time.
    pub elapsed: Duration,
}

impl Summary {
    /// Lines never sent (interrupted run).
    pub fn not_sent(&self) -> u64 {
        self.total.saturating_sub(self.counts.processed())
    }

    /// The JSON summary printed on stdout.
    pub fn to_json(&self, command: &str) -> Value {
        let problems: Vec<&LineResult> = self
            .lines
            .iter()
            .filter(|l| matches!(l.outcome, Outcome::Invalid | Outcome::Failed))
            .collect();
        json!({
            "command": command,
            "total": self.total,
            "created": self.counts.created,
            "existed": self.counts.existed,
            "replayed": self.counts.replayed,
            "invalid": self.counts.invalid,
            "failed": self.counts.failed,
            "notSent": self.not_sent(),
            "elapsedMs": self.elapsed.as_millis() as u64,
            "problems": problems,
        })
    }

    /// Prints the summary (stderr line, then the object on stdout in `opts.format`), writes
    /// the report, and maps the run to its exit: 130 when interrupted, 5 when any line is
    /// invalid or failed.
    pub fn finish(self, opts: &Options) -> Result<()> {
        let c = self.counts;
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        output::info(&format!(
            "{}: {} created, {} existed, {} replayed, {} invalid, {} failed{} ({} lines in {:.2}s, {:.0} lines/s)",
            opts.command,
            c.created,
            c.existed,
            c.replayed,
            c.invalid,
            c.failed,
            if self.not_sent() > 0 {
                format!(", {} not sent", self.not_sent())
            } else {
                String::new()
            },
            c.processed(),
            secs,
            c.processed() as f64 / secs
        ));
        if let Some(path) = &opts.report {
            write_report(path, &self.lines)?;
            output::info(&format!("Per-line report written to {}", path.display()));
        }
        output::print_object(
            opts.format,
            Vec::new(),
            &self.to_json(opts.command),
            output::stdout(),
        )?;
        if self.interrupted {
            return Err(exit::fail(
                Code::Interrupted,
                format!(
                    "{} interrupted: {} line(s) not sent; re-run the same command to send \
                     them (lines already written are not written twice)",
                    opts.command,
                    self.not_sent()
                ),
            ));
        }
        let invalid = (c.invalid > 0).then(|| {
            format!(
                "{} line(s) invalid (reasons above): fix them and re-run; lines already \
                 written are not written twice",
                c.invalid
            )
        });
        let failed = (c.failed > 0).then(|| {
            format!(
                "{} line(s) failed; re-run the same command to retry them",
                c.failed
            )
        });
        match (failed, invalid) {
            (None, None) => Ok(()),
            (Some(m), None) | (None, Some(m)) => Err(exit::fail(Code::Partial, m)),
            (Some(f), Some(i)) => Err(exit::fail(Code::Partial, format!("{f}; {i}"))),
        }
    }
}

/// Writes the per-line report: `line,outcome,id,reason`, one row per processed line.
pub fn write_report(path: &Path, lines: &[LineResult]) -> Result<()> {
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("creating report {}", path.display()))?;
    w.write_record(["line", "outcome", "id", "reason"])?;
    for l in lines {
        w.write_record([
            l.line.to_string().as_str(),
            l.outcome.as_str(),
            &l.id,
            &l.reason,
        ])?;
    }
    w.flush()
        .with_context(|| format!("writing report {}", path.display()))?;
    Ok(())
}

fn progress(total: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} lines  {per_sec}  eta {eta}  {msg}",
    ) {
        pb.set_style(style);
    }
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Resolves on the first Ctrl-C (setting `flag`); a second Ctrl-C exits at once.
async fn first_ctrl_c(flag: Arc<AtomicBool>) {
    if tokio::signal::ctrl_c().await.is_ok() {
        flag.store(true, Ordering::SeqCst);
        tokio::spawn(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(Code::Interrupted.as_i32());
            }
        });
    } else {
        // No signal handler: never interrupt.
        futures::future::pending::<()>().await;
    }
}

/// Runs `send` for every valid line of `lines` (`total` of them in all, for the progress
/// bar and the not-sent count) with at most `opts.concurrency` in flight. Invalid lines are
/// reported without a request. `on_done` sees every processed line as it completes (e.g. to
/// append to a checkpoint). An `Err` item of `lines` (a read error) stops the run after the
/// in-flight lines and is returned.
pub async fn run<T, I, F, Fut>(
    opts: &Options,
    total: u64,
    lines: I,
    send: F,
    mut on_done: impl FnMut(&LineResult) -> Result<()>,
) -> Result<Summary>
where
    I: Iterator<Item = Result<Line<T>>>,
    F: Fn(T) -> Fut,
    Fut: Future<Output = Done>,
{
    let started = Instant::now();
    let pb = progress(total);
    let interrupted = Arc::new(AtomicBool::new(false));
    let mut read_error: Option<anyhow::Error> = None;
    let mut counts = Counts::default();
    let mut done: Vec<LineResult> = Vec::new();
    let keep_all = opts.report.is_some();
    {
        let items = lines.map_while(|r| match r {
            Ok(l) => Some(l),
            Err(e) => {
                read_error = Some(e);
                None
            }
        });
        let send = &send;
        let mut results = futures::stream::iter(items)
            .take_until(Box::pin(first_ctrl_c(interrupted.clone())))
            .map(|l| async move {
                let d = match l.item {
                    Ok(item) => send(item).await,
                    Err(reason) => Done::invalid(reason),
                };
                LineResult {
                    line: l.line,
                    outcome: d.outcome,
                    id: d.id,
                    reason: d.reason,
                }
            })
            .buffer_unordered(opts.concurrency.max(1));
        while let Some(r) = results.next().await {
            if matches!(r.outcome, Outcome::Invalid | Outcome::Failed) {
                pb.suspend(|| output::warn(&format!("line {}: {}", r.line, r.reason)));
                pb.set_message(format!(
                    "{} failed, {} invalid",
                    counts.failed, counts.invalid
                ));
            }
            on_done(&r)?;
            counts.add(r.outcome);
            if keep_all || matches!(r.outcome, Outcome::Invalid | Outcome::Failed) {
                done.push(r);
            }
            pb.inc(1);
        }
    }
    pb.finish_and_clear();
    if let Some(e) = read_error {
        return Err(e);
    }
    done.sort_by_key(|l| l.line);
    Ok(Summary {
        total,
        counts,
        lines: done,
        interrupted: interrupted.load(Ordering::SeqCst),
        elapsed: started.elapsed(),
    })
}

/// Counts the non-blank lines of an NDJSON file (the `total` of [`run`]).
pub fn count_ndjson(path: &Path) -> Result<u64> {
    let f = std::fs::File::open(path)
        .map_err(|e| exit::usage(format!("cannot open {}: {e}", path.display())))?;
    let mut n = 0;
    for line in BufReader::new(f).lines() {
        if !line
            .with_context(|| format!("reading {}", path.display()))?
            .trim()
            .is_empty()
        {
            n += 1;
        }
    }
    Ok(n)
}

/// One non-blank NDJSON line: its number and `(raw text, JSON object)`, or why it is
/// invalid (not JSON, not an object).
pub type NdjsonLine = (u64, std::result::Result<(String, Value), String>);

/// The non-blank lines of an NDJSON file, read lazily (see [`NdjsonLine`]).
pub fn ndjson_lines(path: &Path) -> Result<impl Iterator<Item = Result<NdjsonLine>>> {
    let f = std::fs::File::open(path)
        .map_err(|e| exit::usage(format!("cannot open {}: {e}", path.display())))?;
    let shown = path.display().to_string();
    Ok(BufReader::new(f)
        .lines()
        .enumerate()
        .filter(|(_, l)| l.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(move |(i, l)| {
            let n = i as u64 + 1;
            let l = l.with_context(|| format!("reading {shown}"))?;
            let parsed = match serde_json::from_str::<Value>(l.trim()) {
                Ok(v @ Value::Object(_)) => Ok((l, v)),
                Ok(_) => Err("not a JSON object".to_string()),
                Err(e) => Err(format!("invalid JSON: {e}")),
            };
            Ok((n, parsed))
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options {
            command: "test import",
            concurrency: 3,
            report: None,
            format: Format::Json,
        }
    }

    #[tokio::test]
    async fn every_line_gets_one_outcome_in_line_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let with_report = Options {
            report: Some(dir.path().join("r.csv")),
            ..opts()
        };
        let lines = (1..=7u64).map(|n| {
            Ok(Line {
                line: n,
                item: if n == 4 { Err("bad".into()) } else { Ok(n) },
            })
        });
        let mut seen = Vec::new();
        let s = run(
            &with_report,
            7,
            lines,
            |n| async move {
                // Later lines finish first: the summary must still be in line order.
                tokio::time::sleep(Duration::from_millis(10 * (8 - n))).await;
                match n % 3 {
                    0 => Done::replayed(format!("id{n}")),
                    1 => Done::created(format!("id{n}")),
                    _ => Done::existed("", "exists (email_taken)"),
                }
            },
            |l| {
                seen.push(l.line);
                Ok(())
            },
        )
        .await
        .expect("run");
        assert_eq!(seen.len(), 7);
        assert_eq!(
            s.lines.iter().map(|l| l.line).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(
            s.counts,
            Counts {
                created: 2,
                existed: 2,
                replayed: 2,
                invalid: 1,
                failed: 0
            }
        );
        assert_eq!(s.not_sent(), 0);
        let j = s.to_json("test import");
        assert_eq!(j["problems"][0]["line"], 4);
        assert_eq!(j["problems"][0]["outcome"], "invalid");
        assert_eq!(j["notSent"], 0);
    }

    #[tokio::test]
    async fn without_a_report_only_problems_are_kept() {
        let lines = (1..=100u64).map(|n| {
            Ok(Line {
                line: n,
                item: if n % 10 == 0 {
                    Err("bad".into())
                } else {
                    Ok(n)
                },
            })
        });
        let s = run(
            &opts(),
            100,
            lines,
            |n| async move { Done::created(n.to_string()) },
            |_| Ok(()),
        )
        .await
        .expect("run");
        assert_eq!(s.counts.created, 90);
        assert_eq!(s.counts.invalid, 10);
        assert_eq!(s.lines.len(), 10);
        assert!(s.lines.iter().all(|l| l.outcome == Outcome::Invalid));
    }

    #[tokio::test]
    async fn a_read_error_stops_the_run() {
        let lines: Vec<Result<Line<u64>>> = vec![
            Ok(Line {
                line: 1,
                item: Ok(1),
            }),
            Err(anyhow::anyhow!("disk on fire")),
            Ok(Line {
                line: 3,
                item: Ok(3),
            }),
        ];
        let err = run(
            &opts(),
            3,
            lines.into_iter(),
            |_| async { Done::created("x") },
            |_| Ok(()),
        )
        .await
        .expect_err("read error");
        assert!(err.to_string().contains("disk on fire"));
    }

    #[test]
    fn report_columns_are_the_same_for_every_command() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.csv");
        write_report(
            &path,
            &[
                LineResult {
                    line: 2,
                    outcome: Outcome::Existed,
                    id: String::new(),
                    reason: "exists (email_taken), really".into(),
                },
                LineResult {
                    line: 3,
                    outcome: Outcome::Created,
                    id: "P1".into(),
                    reason: String::new(),
                },
            ],
        )
        .expect("write");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "line,outcome,id,reason\n2,existed,,\"exists (email_taken), really\"\n3,created,P1,\n"
        );
    }

    #[test]
    fn every_bulk_command_documents_the_vocabulary_in_its_help() {
        use clap::CommandFactory;
        let mut cli = crate::cli::Cli::command();
        cli.build();
        for path in [
            &["partners", "import"][..],
            &["events", "import"],
            &["clicks", "import"],
            &["identify"],
        ] {
            let mut cmd = &mut cli;
            for name in path {
                cmd = cmd.find_subcommand_mut(name).expect("subcommand");
            }
            let help = cmd.render_long_help().to_string();
            for word in [
                "created",
                "existed",
                "replayed",
                "invalid",
                "failed",
                "line,outcome,id,reason",
            ] {
                assert!(help.contains(word), "{path:?} --help lacks {word}:\n{help}");
            }
        }
    }

    #[test]
    fn errors_map_to_invalid_or_failed() {
        let api = |status: u16| openpartner::Error::Api {
            status,
            code: "x".into(),
            detail: None,
            body: Value::Null,
            request_id: None,
            retry_after: None,
        };
        for (status, want) in [
            (400, Outcome::Invalid),
            (404, Outcome::Invalid),
            (422, Outcome::Invalid),
            (429, Outcome::Failed),
            (500, Outcome::Failed),
            (401, Outcome::Failed),
        ] {
            assert_eq!(Done::from_error(&api(status)).outcome, want, "{status}");
        }
    }
}
