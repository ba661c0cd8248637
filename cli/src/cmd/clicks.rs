//! `clicks record | import | flag | unflag | flagged` and `identify` (API.md §3.3).
//!
//! Both are naturally idempotent on the server: a click id already recorded answers
//! `replayed: true`, and an existing (click, user) identity answers `firstStitch: false`;
//! the bulk forms count those as `replayed`, so re-running an import never doubles anything.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Subcommand};
use openpartner::types::{FraudFlag, RecordClick};

use crate::cmd::common::parse_time;
use crate::cmd::ndjson::{self, RowOutcome};
use crate::cmd::to_json;
use crate::context::Ctx;
use crate::exit;
use crate::output::{self, Column, ListWriter};

/// `clicks …`
#[derive(Debug, Subcommand)]
pub enum ClicksCmd {
    /// Record one click from your own redirector (`POST /clicks`).
    Record {
        /// Your click id (20-40 characters); the same id again is a replay.
        #[arg(long)]
        id: String,
        /// Link key.
        #[arg(long)]
        link_key: String,
        /// Landing URL.
        #[arg(long)]
        landing_url: String,
        /// Click time (RFC 3339).
        #[arg(long)]
        ts: String,
        /// Hashed visitor IP.
        #[arg(long)]
        ip_hash: Option<String>,
        /// User agent.
        #[arg(long)]
        user_agent: Option<String>,
        /// Referer.
        #[arg(long)]
        referer: Option<String>,
    },
    /// Record clicks from an NDJSON file of `POST /clicks` bodies
    /// ({"id","linkKey","landingUrl","ts",...}); replays are counted, never doubled.
    Import {
        /// NDJSON file.
        file: PathBuf,
        /// Requests in flight at most.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
        concurrency: u32,
    },
    /// Flag a click as manual fraud (its events stop earning).
    Flag {
        /// Click id.
        id: String,
    },
    /// Clear a click's flag and re-attribute the affected events.
    Unflag {
        /// Click id.
        id: String,
    },
    /// List flagged clicks.
    Flagged {
        /// Only `velocity` or `manual`.
        #[arg(long)]
        reason: Option<String>,
        /// At most this many (1-500).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=500))]
        limit: Option<u32>,
    },
}

/// `identify` flags: one pair, or `--file` with NDJSON lines `{"cref","userId"}`.
#[derive(Debug, Args)]
pub struct IdentifyArgs {
    /// Click id (`cref`).
    #[arg(long, required_unless_present = "file")]
    pub cref: Option<String>,
    /// Your user id.
    #[arg(long, required_unless_present = "file")]
    pub user_id: Option<String>,
    /// NDJSON file of {"cref","userId"} lines (the route allows 120/min per IP; the import
    /// waits on 429).
    #[arg(long, conflicts_with_all = ["cref", "user_id"])]
    pub file: Option<PathBuf>,
    /// Requests in flight at most (with --file).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
}

/// Runs `clicks …`.
pub async fn run(ctx: &Ctx, cmd: ClicksCmd) -> Result<()> {
    let (client, _) = ctx.client()?;
    match cmd {
        ClicksCmd::Record {
            id,
            link_key,
            landing_url,
            ts,
            ip_hash,
            user_agent,
            referer,
        } => {
            let click = RecordClick {
                id,
                link_key,
                landing_url,
                ip_hash,
                user_agent,
                referer,
                fraud_flag: None,
                ts: parse_time(&ts, false)?,
            };
            let clicks = client.clicks();
            let r = ndjson::wait_on_429(|| clicks.record(&click)).await?;
            output::print_object(ctx.format(), Vec::new(), &to_json(&r)?, output::stdout())
        }
        ClicksCmd::Import { file, concurrency } => {
            let started = Instant::now();
            let tally = ndjson::run(
                &file,
                concurrency as usize,
                &HashSet::new(),
                |_, _, value| {
                    let client = client.clone();
                    async move {
                        let click: RecordClick = match serde_json::from_value(value) {
                            Ok(c) => c,
                            Err(e) => return RowOutcome::Invalid(format!("not a click: {e}")),
                        };
                        let clicks = client.clicks();
                        match ndjson::wait_on_429(|| clicks.record(&click)).await {
                            Ok(r) if r.replayed => RowOutcome::Replayed,
                            Ok(_) => RowOutcome::Created,
                            Err(e) => RowOutcome::from_error(&e),
                        }
                    }
                },
                |_, _| Ok(()),
            )
            .await?;
            tally.finish("clicks import", started.elapsed())
        }
        ClicksCmd::Flag { id } => {
            let r = client.clicks().flag(&id).await?;
            output::print_object(ctx.format(), Vec::new(), &to_json(&r)?, output::stdout())
        }
        ClicksCmd::Unflag { id } => {
            let r = client.clicks().unflag(&id).await?;
            output::print_object(ctx.format(), Vec::new(), &to_json(&r)?, output::stdout())
        }
        ClicksCmd::Flagged { reason, limit } => {
            let mut req = client.clicks().flagged();
            if let Some(r) = reason {
                let flag = match r.as_str() {
                    "velocity" => FraudFlag::Velocity,
                    "manual" => FraudFlag::Manual,
                    other => {
                        return Err(exit::usage(format!(
                            "--reason {other:?}: use velocity or manual"
                        )))
                    }
                };
                req = req.reason(flag);
            }
            if let Some(l) = limit {
                req = req.limit(l);
            }
            let clicks = req.send().await?;
            let cols = [
                "id",
                "fraudFlag",
                "ts",
                "partnerId",
                "partnerName",
                "linkKey",
                "landingUrl",
                "referer",
                "userAgent",
                "ipHash",
                "linkId",
            ]
            .iter()
            .map(|k| Column::both(k))
            .collect();
            let mut w = ListWriter::new(ctx.format(), cols, output::stdout());
            for c in &clicks {
                w.write(&to_json(c)?)?;
            }
            w.finish()
        }
    }
}

/// Runs `identify`.
pub async fn identify(ctx: &Ctx, a: IdentifyArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    if let Some(file) = &a.file {
        let started = Instant::now();
        let tally = ndjson::run(
            file,
            a.concurrency as usize,
            &HashSet::new(),
            |_, _, value| {
                let client = client.clone();
                async move {
                    let cref = value
                        .get("cref")
                        .and_then(|v| v.as_str())
                        .map(str::to_string);
                    let user = value
                        .get("userId")
                        .and_then(|v| v.as_str())
                        .map(str::to_string);
                    let (Some(cref), Some(user)) = (cref, user) else {
                        return RowOutcome::Invalid("needs string fields cref and userId".into());
                    };
                    match ndjson::wait_on_429(|| client.identify(&cref, &user)).await {
                        Ok(r) if r.first_stitch || r.identity_id.is_some() => RowOutcome::Created,
                        Ok(_) => RowOutcome::Replayed,
                        Err(e) => RowOutcome::from_error(&e),
                    }
                }
            },
            |_, _| Ok(()),
        )
        .await?;
        return tally.finish("identify", started.elapsed());
    }
    let (Some(cref), Some(user)) = (&a.cref, &a.user_id) else {
        return Err(exit::usage("give --cref and --user-id, or --file"));
    };
    let r = ndjson::wait_on_429(|| client.identify(cref, user)).await?;
    output::print_object(ctx.format(), Vec::new(), &to_json(&r)?, output::stdout())
}
