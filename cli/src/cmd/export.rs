//! `export TABLE --format csv|json [--out FILE]`: streams `GET /export/<Table>.<fmt>` to a
//! file or stdout chunk by chunk (constant memory). `export --all [--out FILE]`: every table
//! at once from `GET /export.json` (one JSON document, read in full). A partial file is
//! removed on error.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use futures::TryStreamExt;
use openpartner::{ExportFormat, ExportTable};

use crate::context::Ctx;
use crate::exit;
use crate::output;

/// `--format` of `export`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Fmt {
    /// CSV (header = keys in first-seen order; formula-guarded by the server).
    Csv,
    /// A JSON array of rows.
    Json,
}

/// `export` flags.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Table: Partner, Program, PartnerProgram, Link, Click, Identity, Event, Attribution,
    /// Commission or Payout (case-insensitive).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub table: Option<String>,
    /// Every table at once (`GET /export.json`): one JSON document
    /// `{exportedAt, schemaVersion, tables: {Table: [rows]}}`.
    #[arg(long, conflicts_with = "format")]
    pub all: bool,
    /// Format of the body (default csv; --all is always JSON).
    #[arg(long, value_enum)]
    pub format: Option<Fmt>,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `export`.
pub async fn run(ctx: &Ctx, args: ExportArgs) -> Result<()> {
    let name = match (&args.table, args.all) {
        (_, true) => return export_all(ctx, &args).await,
        (Some(t), false) => t.clone(),
        (None, false) => return Err(exit::usage("give a TABLE or --all")),
    };
    let table = ExportTable::ALL
        .iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(&name))
        .cloned()
        .ok_or_else(|| {
            exit::usage(format!(
                "unknown table {:?}: use one of {}",
                name,
                ExportTable::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let format = match args.format.unwrap_or(Fmt::Csv) {
        Fmt::Csv => ExportFormat::Csv,
        Fmt::Json => ExportFormat::Json,
    };
    let (client, _) = ctx.client()?;
    let body = client
        .export_stream(table.clone(), format)
        .await
        .with_context(|| format!("exporting {}", table.as_str()))?;
    write_body(&args, body).await
}

/// `export --all`: `GET /export.json`, written as pretty JSON (amounts stay the decimal
/// strings the server sent).
async fn export_all(ctx: &Ctx, args: &ExportArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    let all = client.export_all().await.context("exporting every table")?;
    let mut text = serde_json::to_vec_pretty(&all)?;
    text.push(b'\n');
    let rows: usize = all
        .tables
        .values()
        .map(|t| t.as_array().map_or(0, Vec::len))
        .sum();
    output::info(&format!(
        "Exported {} tables, {rows} rows (schema version {}).",
        all.tables.len(),
        all.schema_version
    ));
    let body = futures::stream::iter([Ok(text)]);
    write_body(args, body).await
}

/// Writes a body stream to `--out` (removed again on error) or to stdout.
async fn write_body<S, B>(args: &ExportArgs, mut body: S) -> Result<()>
where
    S: futures::Stream<Item = openpartner::Result<B>> + Unpin,
    B: AsRef<[u8]>,
{
    match &args.out {
        Some(path) => {
            let result = async {
                let mut f = std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                );
                let mut n = 0u64;
                while let Some(chunk) = body.try_next().await? {
                    n += chunk.as_ref().len() as u64;
                    f.write_all(chunk.as_ref())?;
                }
                f.flush()?;
                anyhow::Ok(n)
            }
            .await;
            match result {
                Ok(n) => {
                    output::info(&format!("Wrote {n} bytes to {}.", path.display()));
                    Ok(())
                }
                Err(e) => {
                    let _ = std::fs::remove_file(path);
                    Err(e)
                }
            }
        }
        None => {
            let mut out = output::stdout();
            while let Some(chunk) = body.try_next().await? {
                out.write_all(chunk.as_ref())?;
            }
            out.flush()?;
            Ok(())
        }
    }
}
