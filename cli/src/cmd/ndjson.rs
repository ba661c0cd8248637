//! A bounded-concurrency runner for NDJSON bulk commands (`events import`, `clicks import`,
//! `identify --file`): reads the file lazily line by line, runs a handler per non-blank line
//! with at most `concurrency` requests in flight, shows an indicatif progress bar only when
//! stderr is a terminal, prints each failed line on stderr and returns the tallies.

use std::collections::HashSet;
use std::future::Future;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::exit::{self, Code};
use crate::output;

/// What happened to one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// Newly written on the server.
    Created,
    /// Already there (idempotent replay / same click id / same identity): not written again.
    Replayed,
    /// Not sent: completed by an earlier run (checkpoint).
    Skipped,
    /// Rejected as it stands — not JSON, not the expected shape, or refused by the server
    /// with 400/404/422 — so sending it again unchanged cannot succeed; with the reason.
    Invalid(String),
    /// Failed for a reason a re-run may not meet again (network, 5xx after retries,
    /// credentials), with the reason.
    Failed(String),
}

impl RowOutcome {
    /// The outcome of an SDK error: [`RowOutcome::Invalid`] for 400/404/422 (the line
    /// itself is wrong), else [`RowOutcome::Failed`].
    pub fn from_error(e: &openpartner::Error) -> RowOutcome {
        match e.status() {
            Some(400 | 404 | 422) => RowOutcome::Invalid(reason(e)),
            _ => RowOutcome::Failed(reason(e)),
        }
    }
}

/// Totals of a bulk run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Newly written.
    pub created: u64,
    /// Replayed (already there).
    pub replayed: u64,
    /// Skipped (checkpoint).
    pub skipped: u64,
    /// Invalid (fix the line).
    pub invalid: u64,
    /// Failed (re-run to retry).
    pub failed: u64,
}

impl Tally {
    fn add(&mut self, o: &RowOutcome) {
        match o {
            RowOutcome::Created => self.created += 1,
            RowOutcome::Replayed => self.replayed += 1,
            RowOutcome::Skipped => self.skipped += 1,
            RowOutcome::Invalid(_) => self.invalid += 1,
            RowOutcome::Failed(_) => self.failed += 1,
        }
    }

    /// Prints the summary (stderr) and the JSON summary (stdout), and turns invalid or
    /// failed lines into the partial-failure exit code (5), saying which need fixing and
    /// which only a re-run.
    pub fn finish(self, what: &str, elapsed: Duration) -> Result<()> {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let processed = self.created + self.replayed + self.invalid + self.failed;
        output::info(&format!(
            "{what}: created {}, replayed {}, skipped {}, invalid {}, failed {} ({} lines in {:.2}s, {:.0} lines/s)",
            self.created,
            self.replayed,
            self.skipped,
            self.invalid,
            self.failed,
            processed + self.skipped,
            secs,
            processed as f64 / secs
        ));
        let v = json!({
            "created": self.created,
            "replayed": self.replayed,
            "skipped": self.skipped,
            "invalid": self.invalid,
            "failed": self.failed,
            "elapsedMs": elapsed.as_millis() as u64,
        });
        let mut out = output::stdout();
        serde_json::to_writer(&mut out, &v)?;
        std::io::Write::write_all(&mut out, b"\n")?;
        std::io::Write::flush(&mut out)?;
        let invalid = (self.invalid > 0).then(|| {
            format!(
                "{} line(s) invalid (reasons above): fix them and re-run; lines already \
                 written are not written twice",
                self.invalid
            )
        });
        let failed = (self.failed > 0).then(|| {
            format!(
                "{} line(s) failed; re-run the same command to retry them",
                self.failed
            )
        });
        match (failed, invalid) {
            (None, None) => Ok(()),
            (Some(m), None) | (None, Some(m)) => Err(exit::fail(Code::Partial, m)),
            (Some(f), Some(i)) => Err(exit::fail(Code::Partial, format!("{f}; {i}"))),
        }
    }
}

/// Counts the non-blank lines of a file (for the progress bar).
fn count_lines(path: &Path) -> Result<u64> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut n = 0;
    for line in BufReader::new(f).lines() {
        if !line?.trim().is_empty() {
            n += 1;
        }
    }
    Ok(n)
}

fn progress(total: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} lines  {per_sec}  eta {eta}")
    {
        pb.set_style(style);
    }
    pb
}

/// Runs `handler(line_number, raw_line, parsed_json)` for each non-blank line (1-based line
/// numbers) that is not in `skip`, with at most `concurrency` in flight. `on_done` sees
/// every outcome (e.g. to append to a checkpoint). Lines that are not JSON objects fail
/// without a request.
pub async fn run<F, Fut>(
    path: &Path,
    concurrency: usize,
    skip: &HashSet<u64>,
    handler: F,
    mut on_done: impl FnMut(u64, &RowOutcome) -> Result<()>,
) -> Result<Tally>
where
    F: Fn(u64, String, Value) -> Fut,
    Fut: Future<Output = RowOutcome>,
{
    let total = count_lines(path)?;
    let pb = progress(total);
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let lines = BufReader::new(f).lines();
    let mut tally = Tally::default();
    let mut read_error: Option<anyhow::Error> = None;
    let items = lines.enumerate().map_while(|(i, l)| match l {
        Ok(l) => Some((i as u64 + 1, l)),
        Err(e) => {
            read_error = Some(anyhow::Error::new(e).context(format!("reading {}", path.display())));
            None
        }
    });
    let handler = &handler;
    let mut results = futures::stream::iter(items.filter(|(_, l)| !l.trim().is_empty()))
        .map(|(n, line)| async move {
            if skip.contains(&n) {
                return (n, RowOutcome::Skipped);
            }
            let value: Value = match serde_json::from_str(line.trim()) {
                Ok(v @ Value::Object(_)) => v,
                Ok(_) => return (n, RowOutcome::Invalid("not a JSON object".into())),
                Err(e) => return (n, RowOutcome::Invalid(format!("invalid JSON: {e}"))),
            };
            (n, handler(n, line, value).await)
        })
        .buffer_unordered(concurrency.max(1));
    while let Some((n, outcome)) = results.next().await {
        if let RowOutcome::Failed(reason) | RowOutcome::Invalid(reason) = &outcome {
            pb.suspend(|| output::warn(&format!("line {n}: {reason}")));
        }
        on_done(n, &outcome)?;
        tally.add(&outcome);
        pb.inc(1);
    }
    drop(results);
    pb.finish_and_clear();
    if let Some(e) = read_error {
        return Err(e);
    }
    Ok(tally)
}

/// Calls `f` until it does not fail with HTTP 429, sleeping as the server asks
/// (`Retry-After`, else 1 s) between tries: rate-limited rows wait instead of failing.
/// A 429 means the server did not process the request, so resending is always safe.
pub async fn wait_on_429<T, Fut>(mut f: impl FnMut() -> Fut) -> openpartner::Result<T>
where
    Fut: Future<Output = openpartner::Result<T>>,
{
    let mut tries = 0u32;
    loop {
        match f().await {
            Err(openpartner::Error::Api {
                status: 429,
                retry_after,
                ..
            }) if tries < 600 => {
                tries += 1;
                let wait = retry_after
                    .unwrap_or(Duration::from_secs(1))
                    .clamp(Duration::from_millis(100), Duration::from_secs(300));
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// One-line reason of an SDK error for a per-row report.
pub fn reason(e: &openpartner::Error) -> String {
    e.to_string().replace(['\n', '\r'], " ")
}
