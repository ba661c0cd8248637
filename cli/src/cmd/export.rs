//! `export TABLE --format csv|json [--out FILE]`: streams `GET /export/<Table>.<fmt>` to a
//! file or stdout chunk by chunk (constant memory). A partial file is removed on error.

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
    pub table: String,
    /// Format of the body.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Fmt,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `export`.
pub async fn run(ctx: &Ctx, args: ExportArgs) -> Result<()> {
    let table = ExportTable::ALL
        .iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(&args.table))
        .cloned()
        .ok_or_else(|| {
            exit::usage(format!(
                "unknown table {:?}: use one of {}",
                args.table,
                ExportTable::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let format = match args.format {
        Fmt::Csv => ExportFormat::Csv,
        Fmt::Json => ExportFormat::Json,
    };
    let (client, _) = ctx.client()?;
    let mut body = client
        .export_stream(table.clone(), format)
        .await
        .with_context(|| format!("exporting {}", table.as_str()))?;
    match &args.out {
        Some(path) => {
            let result = async {
                let mut f = std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                );
                let mut n = 0u64;
                while let Some(chunk) = body.try_next().await? {
                    n += chunk.len() as u64;
                    f.write_all(&chunk)?;
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
                out.write_all(&chunk)?;
            }
            out.flush()?;
            Ok(())
        }
    }
}
