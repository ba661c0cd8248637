//! `partners import FILE.csv`: validation of the whole file first, then one
//! `POST /partners` per valid row through the bulk runner ([`crate::bulk`]).
//!
//! File format: a header row is required. Header names are trimmed and matched
//! case-insensitively (`-`/`_` optional in the fixed names):
//! - `email` (required): must be a syntactically valid address; duplicates inside the file
//!   (case-insensitive, as the server lower-cases emails) are invalid rows;
//! - `name` (required): non-empty after trimming;
//! - `external_id` (optional; also `externalId`): empty cell = none; duplicates inside the
//!   file are invalid rows;
//! - `program_ids` (optional): ids separated by `;` or `|`; an empty cell means "not sent"
//!   (the server then grants all programs, API.md §3.1);
//! - `metadata.<key>` (any number), and every column named with `--metadata-column NAME`:
//!   non-empty cells become string values of the partner's `metadata` object.
//!
//! Any other column is ignored with one warning naming all of them (real CRM exports always
//! carry columns we do not know); `--strict` makes them a usage error (exit 2) instead.
//!
//! Every processed row ends in one of the bulk outcomes: `created`; `existed` (409
//! `email_taken` / `external_id_taken`: what makes a re-run create nothing new, also on
//! servers without the `external-id` extension); `invalid` (validation, or 400/404/422 from
//! the server); `failed`; `replayed` only if the SDK's own resend of a row was answered from
//! the idempotency store.

use std::collections::HashMap;
use std::io::{self, Read};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::bulk::{self, Done, Line};
use crate::exit;
use crate::output::{self, Format};

/// Column of an import file.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Field {
    Email,
    Name,
    ExternalId,
    ProgramIds,
    Meta(String),
    Ignored,
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
    /// `metadata.*` and `--metadata-column` cells.
    pub metadata: Map<String, Value>,
}

/// A row rejected by validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidRow {
    /// Line number in the file.
    pub line: u64,
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
    /// Header names of the columns that were ignored (unknown), as written in the file.
    pub ignored_columns: Vec<String>,
}

/// How columns are read.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    /// Columns (matched like the fixed names: trimmed, case-insensitive) whose cells go into
    /// `metadata` under the given name.
    pub metadata: Vec<String>,
    /// Unknown columns are a usage error instead of a warning.
    pub strict: bool,
}

/// Header text for matching: trimmed, lower-case.
fn norm(h: &str) -> String {
    h.trim().to_lowercase()
}

fn fixed_field(lower: &str) -> Option<Field> {
    let compact: String = lower.chars().filter(|c| *c != '_' && *c != '-').collect();
    match compact.as_str() {
        "email" => Some(Field::Email),
        "name" => Some(Field::Name),
        "externalid" => Some(Field::ExternalId),
        "programids" => Some(Field::ProgramIds),
        _ => None,
    }
}

fn field_for(header: &str, columns: &Columns) -> Result<Field> {
    let h = header.trim();
    let lower = norm(h);
    if let Some(name) = columns.metadata.iter().find(|m| norm(m) == lower) {
        return Ok(Field::Meta(name.trim().to_string()));
    }
    if lower.starts_with("metadata.") {
        let key = h["metadata.".len()..].trim();
        if key.is_empty() {
            return Err(exit::usage(
                "empty metadata key in column header `metadata.`",
            ));
        }
        return Ok(Field::Meta(key.to_string()));
    }
    Ok(fixed_field(&lower).unwrap_or(Field::Ignored))
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
/// whole (unreadable, bad header, a `--metadata-column` that is not in the header or names
/// a partner field, unknown columns with `strict`: exit 2); row problems are collected in
/// [`Validated::invalid`] with their line numbers.
pub fn validate<R: Read>(reader: R, columns: &Columns) -> Result<Validated> {
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
    for m in &columns.metadata {
        if let Some(f) = fixed_field(&norm(m)) {
            return Err(exit::usage(format!(
                "--metadata-column {m:?} names a partner field ({f:?}), not a metadata column"
            )));
        }
        if !headers
            .iter()
            .any(|h| norm(h.trim_start_matches('\u{feff}')) == norm(m))
        {
            return Err(exit::usage(format!(
                "--metadata-column {m:?}: the file has no such column"
            )));
        }
    }
    let mut fields = Vec::with_capacity(headers.len());
    let mut ignored = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        // Strip a UTF-8 BOM from the first header.
        let h = if i == 0 {
            h.trim_start_matches('\u{feff}')
        } else {
            h
        };
        let f = field_for(h, columns)?;
        if f == Field::Ignored {
            ignored.push(h.trim().to_string());
        } else if fields.contains(&f) {
            return Err(exit::usage(format!("duplicate column `{}`", h.trim())));
        }
        fields.push(f);
    }
    let unknown = || {
        ignored
            .iter()
            .map(|h| format!("`{h}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for required in [Field::Email, Field::Name] {
        if !fields.contains(&required) {
            let name = if required == Field::Email {
                "email"
            } else {
                "name"
            };
            let also = if ignored.is_empty() {
                String::new()
            } else {
                format!(" (unknown column(s): {})", unknown())
            };
            return Err(exit::usage(format!(
                "missing required column `{name}`{also}"
            )));
        }
    }
    if columns.strict && !ignored.is_empty() {
        return Err(exit::usage(format!(
            "unknown column(s) {} (--strict; expected email, name, external_id, program_ids, \
             metadata.<key> or a --metadata-column)",
            unknown()
        )));
    }

    let mut out = Validated::default();
    let mut seen_email: HashMap<String, u64> = HashMap::new();
    let mut seen_ext: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    // One CSV record per iteration, to the end of the file (a reader, not a retry loop).
    while !rdr.is_done() {
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
                Field::Ignored => {}
            }
        }
        let invalid = |reason: String| InvalidRow { line, reason };
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
    out.ignored_columns = ignored;
    Ok(out)
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
    /// Where to write the per-line CSV report.
    pub report: Option<std::path::PathBuf>,
    /// How columns are read.
    pub columns: Columns,
}

/// Sends one row with one request: `POST /partners` (with `externalId` when the server
/// supports it). A 409 `email_taken` / `external_id_taken` means the partner exists: the
/// row `existed` — this is what makes a re-run create nothing new, and it works against
/// servers without the `external-id` extension (email is always unique). A create-first
/// design costs one request per row (an existence check first would double the requests
/// and burn the rate-limit budget); existing rows carry no partner id in the report, only
/// which key matched. Rate limits are waited out by the SDK ([`bulk::bulk_client`]).
async fn process_row(
    client: &openpartner::Client,
    row: ImportRow,
    use_external_id: bool,
    send_invite: Option<bool>,
) -> Done {
    let mut req = client.partners().create(&row.email, &row.name);
    if !row.metadata.is_empty() {
        req = req.metadata(Value::Object(row.metadata));
    }
    if let Some(send) = send_invite {
        req = req.send_invite(send);
    }
    if let Some(ids) = row.program_ids {
        req = req.program_ids(ids);
    }
    if let Some(ext) = row.external_id.filter(|_| use_external_id) {
        req = req.external_id(ext);
    }
    match req.send().await {
        Ok(created) if created.meta.replayed => Done::replayed(created.data.partner.id),
        Ok(created) => Done::created(created.data.partner.id),
        Err(e)
            if e.is_conflict()
                && matches!(e.code(), Some("email_taken") | Some("external_id_taken")) =>
        {
            let code = e.code().unwrap_or_default();
            Done::existed("", format!("exists ({code})"))
        }
        Err(e) => Done::from_error(&e),
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

/// The rows of a validation as bulk lines, in file order.
fn lines_of(validated: Validated) -> Vec<Line<ImportRow>> {
    let mut lines: Vec<Line<ImportRow>> = validated
        .rows
        .into_iter()
        .map(|r| Line {
            line: r.line,
            item: Ok(r),
        })
        .chain(validated.invalid.into_iter().map(|r| Line {
            line: r.line,
            item: Err(r.reason),
        }))
        .collect();
    lines.sort_by_key(|l| l.line);
    lines
}

/// Runs `partners import`. `client` is built lazily (a dry run needs no credentials).
pub async fn run<F, Fut>(
    file: &Path,
    opts: &ImportOptions,
    format: Format,
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
    let validated = validate(reader, &opts.columns)?;
    if !validated.ignored_columns.is_empty() {
        output::warn(&format!(
            "ignoring unknown column(s) {} (use --metadata-column NAME to keep one in the \
             partner's metadata, --strict to refuse the file)",
            validated
                .ignored_columns
                .iter()
                .map(|h| format!("`{h}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let total = (validated.rows.len() + validated.invalid.len()) as u64;
    let bulk_opts = bulk::Options {
        command: "partners import",
        concurrency: opts.concurrency.max(1),
        report: opts.report.clone(),
        format,
    };

    if opts.dry_run {
        print_invalid(&validated.invalid);
        output::info(&format!(
            "Dry run: {total} row(s), {} valid, {} invalid. Nothing was sent.",
            validated.rows.len(),
            validated.invalid.len()
        ));
        // Only the invalid rows get an outcome; the valid ones are "not sent".
        let invalid: Vec<Line<ImportRow>> = lines_of(Validated {
            invalid: validated.invalid,
            ..Validated::default()
        });
        let summary = bulk::run(
            &bulk_opts,
            total,
            invalid.into_iter().map(Ok),
            |_: ImportRow| async { Done::invalid("not sent (dry run)") },
            |_| Ok(()),
        )
        .await?;
        return summary.finish(&bulk_opts);
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
    let client = bulk::bulk_client(&client);
    let client = &client;
    let send_invite = opts.send_invite;
    let summary = bulk::run(
        &bulk_opts,
        total,
        lines_of(validated).into_iter().map(Ok),
        |row| process_row(client, row, use_external_id, send_invite),
        |_| Ok(()),
    )
    .await?;
    summary.finish(&bulk_opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::Code;

    fn v(text: &str) -> Validated {
        validate(text.as_bytes(), &Columns::default()).expect("valid file")
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
            "email,nmae\nx@y.co,X\n",
            "email,name,email\n",
            "email,name,metadata.\n",
        ] {
            let err = validate(text.as_bytes(), &Columns::default()).expect_err(text);
            assert_eq!(exit::code_for(&err), Code::Usage, "{text}: {err:#}");
        }
        // The missing column's message names the unknown ones (a typo is visible).
        let err = validate("email,nmae\n".as_bytes(), &Columns::default()).expect_err("typo");
        assert!(err.to_string().contains("`nmae`"), "{err}");
    }

    #[test]
    fn unknown_columns_are_ignored_unless_strict() {
        let text = " Email ,NAME,Tier,external-ID,Region\na@x.io,Ann,gold,e1,EU\n";
        let out = validate(text.as_bytes(), &Columns::default()).expect("lenient");
        assert_eq!(out.ignored_columns, ["Tier", "Region"]);
        assert_eq!(out.rows.len(), 1);
        assert_eq!(out.rows[0].email, "a@x.io");
        assert_eq!(out.rows[0].external_id.as_deref(), Some("e1"));
        assert!(out.rows[0].metadata.is_empty());

        let strict = Columns {
            strict: true,
            ..Columns::default()
        };
        let err = validate(text.as_bytes(), &strict).expect_err("strict");
        assert_eq!(exit::code_for(&err), Code::Usage);
        assert!(err.to_string().contains("`Tier`, `Region`"), "{err}");

        // A metadata column: matched ignoring case and spaces, stored under the given name.
        let cols = Columns {
            metadata: vec!["tier".into()],
            strict: true,
        };
        let err = validate(text.as_bytes(), &cols).expect_err("Region still unknown");
        assert!(err.to_string().contains("`Region`"), "{err}");
        let cols = Columns {
            metadata: vec!["tier".into(), " region".into()],
            strict: false,
        };
        let out = validate(text.as_bytes(), &cols).expect("metadata columns");
        assert!(out.ignored_columns.is_empty());
        assert_eq!(out.rows[0].metadata["tier"], "gold");
        assert_eq!(out.rows[0].metadata["region"], "EU");
    }

    #[test]
    fn metadata_column_must_exist_and_not_be_a_partner_field() {
        for m in ["email", "External_Id", "nope"] {
            let cols = Columns {
                metadata: vec![m.into()],
                strict: false,
            };
            let err = validate("email,name\na@x.io,A\n".as_bytes(), &cols).expect_err(m);
            assert_eq!(exit::code_for(&err), Code::Usage, "{m}");
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
            let out = validate(buf.as_slice(), &Columns::default()).expect("header is valid");
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
}
