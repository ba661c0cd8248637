//! `partners import FILE.csv`: validation of the whole file first, then bounded-concurrency
//! creation with per-row outcomes.
//!
//! File format: a header row is required. Columns (header names are trimmed and matched
//! case-insensitively, `-`/`_` optional in the fixed names):
//! - `email` (required): must be a syntactically valid address; duplicates inside the file
//!   (case-insensitive, as the server lower-cases emails) are invalid rows;
//! - `name` (required): non-empty after trimming;
//! - `external_id` (optional; also `externalId`): empty cell = none; duplicates inside the
//!   file are invalid rows;
//! - `program_ids` (optional): ids separated by `;` or `|`; an empty cell means "not sent"
//!   (the server then grants all programs, API.md §3.1);
//! - `metadata.<key>` (any number): non-empty cells become string values of the partner's
//!   `metadata` object.
//!
//! Any other column is a usage error (exit 2): a typo such as `externl_id` silently
//! ignored would break re-run idempotency.
//!
//! Every row ends in exactly one state: `created`, `skipped` (already exists), `failed`
//! (with the server's reason), `invalid` (with the validation reason and its line number),
//! or `not_attempted` (the run was interrupted before it). Nothing is lost.

use std::collections::HashMap;
use std::io::{self, IsTerminal, Read};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::exit::{self, Code};
use crate::output::{self, Format};

/// Column of an import file.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Field {
    Email,
    Name,
    ExternalId,
    ProgramIds,
    Meta(String),
}

/// A validated row, ready to send.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportRow {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// Email, trimmed (case preserved; the server lower-cases it).
    pub email: String,
    /// Display name, trimmed.
    pub name: String,
    /// External id, if any.
    pub external_id: Option<String>,
    /// Program ids, when the cell was non-empty.
    pub program_ids: Option<Vec<String>>,
    /// `metadata.*` cells.
    pub metadata: Map<String, Value>,
}

/// A row rejected by validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidRow {
    /// Line number in the file.
    pub line: u64,
    /// The row's email cell (possibly invalid or empty).
    pub email: String,
    /// The row's external id cell.
    pub external_id: String,
    /// Why it was rejected.
    pub reason: String,
}

/// Result of validating a whole file.
#[derive(Debug, Default)]
pub struct Validated {
    /// Rows to send, in file order.
    pub rows: Vec<ImportRow>,
    /// Rejected rows, in file order.
    pub invalid: Vec<InvalidRow>,
}

fn field_for(header: &str) -> Result<Field> {
    let h = header.trim();
    let lower = h.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("metadata.") {
        let key = h["metadata.".len()..].trim();
        if key.is_empty() || rest.trim().is_empty() {
            return Err(exit::usage(
                "empty metadata key in column header `metadata.`",
            ));
        }
        return Ok(Field::Meta(key.to_string()));
    }
    let compact: String = lower.chars().filter(|c| *c != '_' && *c != '-').collect();
    match compact.as_str() {
        "email" => Ok(Field::Email),
        "name" => Ok(Field::Name),
        "externalid" => Ok(Field::ExternalId),
        "programids" => Ok(Field::ProgramIds),
        _ => Err(exit::usage(format!(
            "unknown column `{h}` (expected email, name, external_id, program_ids or metadata.<key>)"
        ))),
    }
}

/// Syntax check for an email address (ASCII, one `@`, dot-atom local part ≤ 64 chars,
/// domain of ≥ 2 LDH labels, total ≤ 254 chars). Deliberately stricter than RFC 5322:
/// quoted local parts and IP-literal domains are rejected, as partner programs never use them.
pub fn is_valid_email(email: &str) -> bool {
    if email.len() > 254 || !email.is_ascii() {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.len() > 64 || domain.contains('@') {
        return false;
    }
    let local_ok = local.split('.').all(|atom| {
        !atom.is_empty()
            && atom
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c))
    });
    if !local_ok {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// Reads and validates a whole import file. `Err` only for problems with the file as a
/// whole (unreadable, bad header: exit 2); row problems are collected in
/// [`Validated::invalid`] with their line numbers.
pub fn validate<R: Read>(reader: R) -> Result<Validated> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| exit::usage(format!("cannot read the CSV header: {e}")))?
        .clone();
    if headers.is_empty() || headers.iter().all(|h| h.trim().is_empty()) {
        return Err(exit::usage("the CSV file is empty or has no header row"));
    }
    let mut fields = Vec::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        // Strip a UTF-8 BOM from the first header.
        let h = if i == 0 {
            h.trim_start_matches('\u{feff}')
        } else {
            h
        };
        let f = field_for(h)?;
        if fields.contains(&f) {
            return Err(exit::usage(format!("duplicate column `{}`", h.trim())));
        }
        fields.push(f);
    }
    for required in [Field::Email, Field::Name] {
        if !fields.contains(&required) {
            return Err(exit::usage(format!(
                "missing required column `{}`",
                if required == Field::Email {
                    "email"
                } else {
                    "name"
                }
            )));
        }
    }

    let mut out = Validated::default();
    let mut seen_email: HashMap<String, u64> = HashMap::new();
    let mut seen_ext: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line_hint = rdr.position().line();
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line_hint);
                match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => {
                        out.invalid.push(InvalidRow {
                            line,
                            email: String::new(),
                            external_id: String::new(),
                            reason: "row is not valid UTF-8".into(),
                        });
                        continue;
                    }
                    _ => {
                        return Err(anyhow::Error::new(e).context("reading the CSV file"));
                    }
                }
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(line_hint);
        // Skip blank lines (a single empty field).
        if record.len() == 1 && record.get(0).is_some_and(|s| s.trim().is_empty()) {
            continue;
        }
        let mut email = String::new();
        let mut name = String::new();
        let mut external_id = String::new();
        let mut program_ids = String::new();
        let mut metadata = Map::new();
        for (field, cell) in fields.iter().zip(record.iter()) {
            let cell = cell.trim();
            match field {
                Field::Email => email = cell.to_string(),
                Field::Name => name = cell.to_string(),
                Field::ExternalId => external_id = cell.to_string(),
                Field::ProgramIds => program_ids = cell.to_string(),
                Field::Meta(key) => {
                    if !cell.is_empty() {
                        metadata.insert(key.clone(), Value::String(cell.to_string()));
                    }
                }
            }
        }
        let invalid = |reason: String| InvalidRow {
            line,
            email: email.clone(),
            external_id: external_id.clone(),
            reason,
        };
        if record.len() != fields.len() {
            out.invalid.push(invalid(format!(
                "expected {} fields, found {}",
                fields.len(),
                record.len()
            )));
            continue;
        }
        if email.is_empty() {
            out.invalid.push(invalid("email is empty".into()));
            continue;
        }
        if !is_valid_email(&email) {
            out.invalid
                .push(invalid(format!("invalid email {email:?}")));
            continue;
        }
        if name.is_empty() {
            out.invalid.push(invalid("name is empty".into()));
            continue;
        }
        let email_key = email.to_lowercase();
        if let Some(first) = seen_email.get(&email_key) {
            out.invalid.push(invalid(format!(
                "duplicate email {email:?} (first on line {first})"
            )));
            continue;
        }
        if !external_id.is_empty() {
            if let Some(first) = seen_ext.get(&external_id) {
                out.invalid.push(invalid(format!(
                    "duplicate external_id {external_id:?} (first on line {first})"
                )));
                continue;
            }
        }
        seen_email.insert(email_key, line);
        if !external_id.is_empty() {
            seen_ext.insert(external_id.clone(), line);
        }
        let programs: Vec<String> = program_ids
            .split([';', '|'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        out.rows.push(ImportRow {
            line,
            email,
            name,
            external_id: (!external_id.is_empty()).then_some(external_id),
            program_ids: (!programs.is_empty()).then_some(programs),
            metadata,
        });
    }
    Ok(out)
}

/// Final state of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The partner was created by this run.
    Created,
    /// A partner with this external id or email already existed.
    Skipped,
    /// The server refused or the request failed; see the reason.
    Failed,
    /// Rejected by validation, never sent.
    Invalid,
    /// Not sent because the run was interrupted.
    NotAttempted,
}

/// One row's outcome (a line of `--report`).
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Line number in the file.
    pub line: u64,
    /// Email cell.
    pub email: String,
    /// External id cell (empty when none).
    pub external_id: String,
    /// Final state.
    pub status: Status,
    /// Id of the created or existing partner, when known.
    pub partner_id: String,
    /// Why it was skipped, failed or invalid.
    pub reason: String,
}

impl Outcome {
    fn for_row(
        row: &ImportRow,
        status: Status,
        partner_id: Option<String>,
        reason: String,
    ) -> Outcome {
        Outcome {
            line: row.line,
            email: row.email.clone(),
            external_id: row.external_id.clone().unwrap_or_default(),
            status,
            partner_id: partner_id.unwrap_or_default(),
            reason,
        }
    }
}

/// Counts for the summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Rows created.
    pub created: u64,
    /// Rows skipped because the partner exists.
    pub skipped: u64,
    /// Rows that failed.
    pub failed: u64,
    /// Rows rejected by validation.
    pub invalid: u64,
    /// Rows not attempted (interrupted run).
    pub not_attempted: u64,
}

impl Counts {
    /// Tallies outcomes.
    pub fn of(outcomes: &[Outcome]) -> Counts {
        let mut c = Counts::default();
        for o in outcomes {
            match o.status {
                Status::Created => c.created += 1,
                Status::Skipped => c.skipped += 1,
                Status::Failed => c.failed += 1,
                Status::Invalid => c.invalid += 1,
                Status::NotAttempted => c.not_attempted += 1,
            }
        }
        c
    }
}

/// Options of an import run.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Requests in flight at most.
    pub concurrency: usize,
    /// `sendInvite` to send; `None` = the server default (true).
    pub send_invite: Option<bool>,
    /// Validate only.
    pub dry_run: bool,
    /// Where to write the per-row CSV report.
    pub report: Option<std::path::PathBuf>,
}

/// Writes the per-row report CSV (line, email, external_id, status, partner_id, reason).
pub fn write_report(path: &Path, outcomes: &[Outcome]) -> Result<()> {
    let mut w = csv::Writer::from_path(path)
        .with_context(|| format!("creating report {}", path.display()))?;
    w.write_record([
        "line",
        "email",
        "external_id",
        "status",
        "partner_id",
        "reason",
    ])?;
    for o in outcomes {
        let status = match o.status {
            Status::Created => "created",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::Invalid => "invalid",
            Status::NotAttempted => "not_attempted",
        };
        w.write_record([
            o.line.to_string().as_str(),
            &o.email,
            &o.external_id,
            status,
            &o.partner_id,
            &o.reason,
        ])?;
    }
    w.flush()
        .with_context(|| format!("writing report {}", path.display()))?;
    Ok(())
}

fn invalid_outcomes(invalid: &[InvalidRow]) -> Vec<Outcome> {
    invalid
        .iter()
        .map(|r| Outcome {
            line: r.line,
            email: r.email.clone(),
            external_id: r.external_id.clone(),
            status: Status::Invalid,
            partner_id: String::new(),
            reason: r.reason.clone(),
        })
        .collect()
}

/// One-line reason text for an SDK error.
fn reason_of(e: &openpartner::Error) -> String {
    e.to_string().replace(['\n', '\r'], " ")
}

/// Sends one row: existence check (by external id when the server supports it, else by
/// email), then create; 409 `email_taken` / `external_id_taken` count as skipped.
async fn process_row(
    client: &openpartner::Client,
    row: &ImportRow,
    use_external_id: bool,
    send_invite: Option<bool>,
) -> Outcome {
    let partners = client.partners();
    let ext = row.external_id.as_deref().filter(|_| use_external_id);
    // 1. Does it exist already?
    let existing = match ext {
        Some(ext) => match partners.by_external_id(ext).await {
            Ok(p) => Ok(Some((p.id, "exists (same external_id)"))),
            Err(e) if e.is_not_found() && !e.is_unsupported() => Ok(None),
            Err(e) => Err(e),
        },
        None => match partners.list().email(&row.email).page_size(1).send().await {
            Ok(page) => Ok(page
                .items
                .first()
                .map(|p| (p.id.clone(), "exists (same email)"))),
            Err(e) => Err(e),
        },
    };
    match existing {
        Ok(Some((id, why))) => {
            return Outcome::for_row(row, Status::Skipped, Some(id), why.into());
        }
        Ok(None) => {}
        Err(e) => return Outcome::for_row(row, Status::Failed, None, reason_of(&e)),
    }
    // 2. Create.
    let mut req = partners.create(&row.email, &row.name);
    if !row.metadata.is_empty() {
        req = req.metadata(Value::Object(row.metadata.clone()));
    }
    if let Some(send) = send_invite {
        req = req.send_invite(send);
    }
    if let Some(ids) = &row.program_ids {
        req = req.program_ids(ids.clone());
    }
    if let Some(ext) = ext {
        req = req.external_id(ext);
    }
    match req.send().await {
        Ok(created) => Outcome::for_row(
            row,
            Status::Created,
            Some(created.partner.id),
            String::new(),
        ),
        Err(e)
            if e.is_conflict()
                && matches!(e.code(), Some("email_taken") | Some("external_id_taken")) =>
        {
            let code = e.code().unwrap_or_default().to_string();
            Outcome::for_row(row, Status::Skipped, None, format!("exists ({code})"))
        }
        Err(e) => Outcome::for_row(row, Status::Failed, None, reason_of(&e)),
    }
}

/// Prints the invalid rows of a validation to stderr.
fn print_invalid(invalid: &[InvalidRow]) {
    if invalid.is_empty() {
        return;
    }
    output::info(&format!("{} invalid row(s):", invalid.len()));
    for r in invalid {
        output::info(&format!("  line {}: {}", r.line, r.reason));
    }
}

/// Runs `partners import`. `client` is built lazily (a dry run needs no credentials).
pub async fn run<F, Fut>(
    file: &Path,
    opts: &ImportOptions,
    explicit_format: Option<Format>,
    make_client: F,
) -> Result<()>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<openpartner::Client>>,
{
    let reader: Box<dyn Read> = if file == Path::new("-") {
        Box::new(io::stdin())
    } else {
        Box::new(
            std::fs::File::open(file)
                .map_err(|e| exit::usage(format!("cannot open {}: {e}", file.display())))?,
        )
    };
    let validated = validate(reader)?;
    let total = validated.rows.len() + validated.invalid.len();
    print_invalid(&validated.invalid);

    if opts.dry_run {
        output::info(&format!(
            "Dry run: {total} row(s), {} valid, {} invalid. Nothing was sent.",
            validated.rows.len(),
            validated.invalid.len()
        ));
        let outcomes = invalid_outcomes(&validated.invalid);
        if let Some(path) = &opts.report {
            write_report(path, &outcomes)?;
        }
        print_summary_json(explicit_format, &Counts::of(&outcomes), &outcomes)?;
        if !validated.invalid.is_empty() {
            return Err(exit::fail(
                Code::Partial,
                format!(
                    "{} invalid row(s) in {}",
                    validated.invalid.len(),
                    file.display()
                ),
            ));
        }
        return Ok(());
    }

    let client = make_client().await?;
    // Preflight: fails fast (exit 4) on a bad credential before touching any row, and
    // learns the server's extensions.
    client
        .partners()
        .list()
        .page_size(1)
        .send()
        .await
        .context("checking access to the partners API")?;
    let caps = client
        .refresh_capabilities()
        .await
        .unwrap_or_else(|_| client.capabilities());
    let use_external_id = caps.has(openpartner::Extension::ExternalId);
    if !use_external_id && validated.rows.iter().any(|r| r.external_id.is_some()) {
        output::warn(
            "this server does not support external ids (extension `external-id`): the \
             external_id column is not sent and rows are matched by email",
        );
    }

    let progress = if io::stderr().is_terminal() {
        let pb = indicatif::ProgressBar::new(validated.rows.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}",
        ) {
            pb.set_style(style);
        }
        pb.enable_steady_tick(Duration::from_millis(200));
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };

    // Ctrl-C: stop starting rows, let the in-flight ones finish, then report.
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupted.clone();
    let stop = async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            // A second Ctrl-C aborts at once.
            tokio::spawn(async {
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(Code::Interrupted.as_i32());
                }
            });
        }
    };

    let concurrency = opts.concurrency.max(1);
    let send_invite = opts.send_invite;
    let client_ref = &client;
    let pb = progress.clone();
    let mut failed_so_far = 0u64;
    let mut outcomes: Vec<Outcome> = futures::stream::iter(validated.rows.iter())
        .take_until(Box::pin(stop))
        .map(|row| async move { process_row(client_ref, row, use_external_id, send_invite).await })
        .buffer_unordered(concurrency)
        .inspect(|o| {
            pb.inc(1);
            if o.status == Status::Failed {
                failed_so_far += 1;
                pb.set_message(format!("{failed_so_far} failed"));
            }
        })
        .collect()
        .await;
    progress.finish_and_clear();

    // Rows never started (interrupted run).
    if outcomes.len() < validated.rows.len() {
        let done: std::collections::HashSet<u64> = outcomes.iter().map(|o| o.line).collect();
        for row in validated.rows.iter().filter(|r| !done.contains(&r.line)) {
            outcomes.push(Outcome::for_row(
                row,
                Status::NotAttempted,
                None,
                "interrupted before this row was sent".into(),
            ));
        }
    }
    outcomes.extend(invalid_outcomes(&validated.invalid));
    outcomes.sort_by_key(|o| o.line);
    let counts = Counts::of(&outcomes);

    let failed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.status == Status::Failed)
        .collect();
    if !failed.is_empty() {
        output::info(&format!("{} failed row(s):", failed.len()));
        for o in &failed {
            output::info(&format!("  line {} ({}): {}", o.line, o.email, o.reason));
        }
    }
    output::info(&format!(
        "Imported {}: {} created, {} skipped (already exist), {} failed, {} invalid{}",
        file.display(),
        counts.created,
        counts.skipped,
        counts.failed,
        counts.invalid,
        if counts.not_attempted > 0 {
            format!(", {} not attempted", counts.not_attempted)
        } else {
            String::new()
        }
    ));
    if let Some(path) = &opts.report {
        write_report(path, &outcomes)?;
        output::info(&format!("Per-row report written to {}", path.display()));
    }
    print_summary_json(explicit_format, &counts, &outcomes)?;

    if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(exit::fail(Code::Interrupted, "import interrupted"));
    }
    if counts.failed > 0 || counts.invalid > 0 {
        return Err(exit::fail(
            Code::Partial,
            format!(
                "import incomplete: {} failed, {} invalid row(s)",
                counts.failed, counts.invalid
            ),
        ));
    }
    Ok(())
}

/// With `-o json` / `-o ndjson` (explicitly requested), prints a machine summary on stdout:
/// `{"created","skipped","failed","invalid","notAttempted","rows":[…non-created rows…]}`.
fn print_summary_json(
    explicit: Option<Format>,
    counts: &Counts,
    outcomes: &[Outcome],
) -> Result<()> {
    let Some(format @ (Format::Json | Format::Ndjson)) = explicit else {
        return Ok(());
    };
    let rows: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.status != Status::Created)
        .collect();
    let value = serde_json::json!({
        "created": counts.created,
        "skipped": counts.skipped,
        "failed": counts.failed,
        "invalid": counts.invalid,
        "notAttempted": counts.not_attempted,
        "rows": rows,
    });
    output::print_object(format, Vec::new(), &value, output::stdout())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Validated {
        validate(text.as_bytes()).expect("valid file")
    }

    #[test]
    fn emails() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.com",
            "x_y@ex-ample.org",
        ] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@",
            "@b.co",
            "a@b",
            "a@@b.co",
            "a b@c.co",
            "a..b@c.co",
            ".a@c.co",
            "a@-b.co",
            "a@b.c",
            "a@b.c0",
            "é@b.co",
            "a@b..co",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn parses_columns_and_metadata() {
        let out = v(
            "Email,name,externalId,program_ids,metadata.tier,metadata.Country\n\
             A@x.io, Ann ,ext-1,p1; p2|p3,gold,\n\
             b@x.io,Bob,,,,FR\n",
        );
        assert!(out.invalid.is_empty(), "{:?}", out.invalid);
        assert_eq!(out.rows.len(), 2);
        let a = &out.rows[0];
        assert_eq!(a.line, 2);
        assert_eq!(a.email, "A@x.io");
        assert_eq!(a.name, "Ann");
        assert_eq!(a.external_id.as_deref(), Some("ext-1"));
        assert_eq!(
            a.program_ids,
            Some(vec!["p1".to_string(), "p2".into(), "p3".into()])
        );
        assert_eq!(a.metadata.get("tier"), Some(&Value::String("gold".into())));
        assert!(a.metadata.get("Country").is_none());
        let b = &out.rows[1];
        assert_eq!(b.line, 3);
        assert_eq!(b.external_id, None);
        assert_eq!(b.program_ids, None);
        assert_eq!(b.metadata.get("Country"), Some(&Value::String("FR".into())));
    }

    #[test]
    fn reports_every_bad_row_with_line_numbers() {
        let out = v("email,name,external_id\n\
             ok@x.io,Ok,e1\n\
             not-an-email,Bad,e2\n\
             empty@x.io,  ,e3\n\
             OK@X.IO,Dup,e4\n\
             other@x.io,DupExt,e1\n\
             short@x.io\n\
             \"multi\nline\"@x.io,M,e9\n\
             fine@x.io,Fine,\n");
        let lines: Vec<(u64, &str)> = out
            .invalid
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(lines.len(), 6, "{lines:?}");
        assert_eq!(lines[0].0, 3);
        assert!(lines[0].1.contains("invalid email"));
        assert_eq!(lines[1], (4, "name is empty"));
        assert_eq!(lines[2].0, 5);
        assert!(lines[2].1.contains("duplicate email") && lines[2].1.contains("line 2"));
        assert_eq!(lines[3].0, 6);
        assert!(lines[3].1.contains("duplicate external_id"));
        assert_eq!(lines[4], (7, "expected 3 fields, found 1"));
        assert_eq!(lines[5].0, 8);
        assert_eq!(out.rows.len(), 2);
        assert_eq!(out.rows[1].line, 10);
    }

    #[test]
    fn header_errors_are_usage_errors() {
        for text in [
            "",
            "name\nx\n",
            "email\nx@y.co\n",
            "email,name,externl_id\n",
            "email,name,email\n",
            "email,name,metadata.\n",
        ] {
            let err = validate(text.as_bytes()).expect_err(text);
            assert_eq!(exit::code_for(&err), Code::Usage, "{text}: {err:#}");
        }
    }

    proptest::proptest! {
        /// Whatever the cells contain (quotes, commas, newlines, blanks, junk), every data
        /// row ends up either valid (with its cells intact) or invalid with its own line
        /// number: nothing is lost or invented.
        #[test]
        fn every_row_is_accounted_for(
            rows in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        "[a-z]{1,8}@[a-z]{1,8}\\.(com|org)",
                        "[a-zA-Z@. ,\"]{0,12}",
                    ],
                    "[ a-zA-Z,\"\n]{0,12}",
                    proptest::option::of("[a-z0-9-]{1,6}"),
                ),
                1..40,
            )
        ) {
            let mut buf = Vec::new();
            {
                let mut w = csv::Writer::from_writer(&mut buf);
                w.write_record(["email", "name", "external_id"]).expect("header");
                for (email, name, ext) in &rows {
                    w.write_record([email.as_str(), name.as_str(), ext.as_deref().unwrap_or("")])
                        .expect("row");
                }
                w.flush().expect("flush");
            }
            let out = validate(buf.as_slice()).expect("header is valid");
            // A row whose only cell is blank is skipped as a blank line; the csv writer
            // never produces one here because there are always three fields.
            proptest::prop_assert_eq!(out.rows.len() + out.invalid.len(), rows.len());
            // Sorted by line, outcomes line up with the input rows one to one.
            let mut all: Vec<(u64, Option<&ImportRow>)> = out
                .rows
                .iter()
                .map(|r| (r.line, Some(r)))
                .chain(out.invalid.iter().map(|r| (r.line, None)))
                .collect();
            all.sort_by_key(|(line, _)| *line);
            proptest::prop_assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "distinct lines");
            for ((email, name, ext), (_, valid)) in rows.iter().zip(&all) {
                if let Some(row) = valid {
                    proptest::prop_assert_eq!(email.trim(), row.email.as_str());
                    proptest::prop_assert_eq!(name.trim(), row.name.as_str());
                    proptest::prop_assert_eq!(ext.as_deref(), row.external_id.as_deref());
                    proptest::prop_assert!(is_valid_email(&row.email));
                    proptest::prop_assert!(!row.name.is_empty());
                }
            }
        }
    }

    #[test]
    fn report_csv_columns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.csv");
        let outcomes = vec![Outcome {
            line: 2,
            email: "a@x.io".into(),
            external_id: String::new(),
            status: Status::Skipped,
            partner_id: "P1".into(),
            reason: "exists, really".into(),
        }];
        write_report(&path, &outcomes).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            "line,email,external_id,status,partner_id,reason\n2,a@x.io,,skipped,P1,\"exists, really\"\n"
        );
    }
}
