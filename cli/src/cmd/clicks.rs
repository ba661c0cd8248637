//! `clicks record | import | flag | unflag | flagged` and `identify` (API.md §3.3).
//!
//! Both are naturally idempotent on the server: a click id already recorded answers
//! `replayed: true`, and an existing (click, user) identity answers `firstStitch: false`
//! without a new identity; the bulk forms (through [`crate::bulk`]) count those as
//! `replayed`, so re-running an import never doubles anything.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use openpartner::types::{FraudFlag, RecordClick};
use serde_json::Value;

use crate::bulk::{self, Done, Line};
use crate::cmd::common::parse_time;
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
    /// ({"id","linkKey","landingUrl","ts",...}); a click id already recorded is `replayed`,
    /// never doubled.
    #[command(after_long_help = crate::bulk::OUTCOMES_HELP)]
    Import {
        /// NDJSON file.
        file: PathBuf,
        /// Requests in flight at most.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
        concurrency: u32,
        /// Write a per-line CSV report (line,outcome,id,reason).
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
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
    /// NDJSON file of {"cref","userId"} lines (the route allows 120/min per IP; the
    /// import waits out 429s). An identity that already exists is `replayed`.
    #[arg(long, conflicts_with_all = ["cref", "user_id"])]
    pub file: Option<PathBuf>,
    /// Requests in flight at most (with --file).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// With --file: write a per-line CSV report (line,outcome,id,reason).
    #[arg(long, value_name = "FILE", requires = "file")]
    pub report: Option<PathBuf>,
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
            let r = client.clicks().record(&click).send().await?;
            output::print_object(
                ctx.format(),
                Vec::new(),
                &to_json(&r.data)?,
                output::stdout(),
            )
        }
        ClicksCmd::Import {
            file,
            concurrency,
            report,
        } => {
            let opts = bulk::Options {
                command: "clicks import",
                concurrency: concurrency as usize,
                report,
                format: ctx.format(),
            };
            let client = bulk::bulk_client(&client);
            let client = &client;
            let lines = bulk::ndjson_lines(&file)?.map(|r| {
                r.map(|(n, parsed)| Line {
                    line: n,
                    item: parsed.and_then(|(_, v)| {
                        serde_json::from_value::<RecordClick>(v)
                            .map_err(|e| format!("not a click: {e}"))
                    }),
                })
            });
            let summary = bulk::run(
                &opts,
                bulk::count_ndjson(&file)?,
                lines,
                |click| async move {
                    match client.clicks().record(&click).send().await {
                        Ok(r) if r.data.replayed || r.meta.replayed => {
                            Done::replayed(r.data.id.clone())
                        }
                        Ok(r) => Done::created(r.data.id.clone()),
                        Err(e) => Done::from_error(&e),
                    }
                },
                |_| Ok(()),
            )
            .await?;
            summary.finish(&opts)
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

/// The `cref` and `userId` of an identify line.
fn identify_pair(v: &Value) -> std::result::Result<(String, String), String> {
    let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    match (get("cref"), get("userId")) {
        (Some(c), Some(u)) => Ok((c, u)),
        _ => Err("needs string fields cref and userId".into()),
    }
}

/// Runs `identify`.
pub async fn identify(ctx: &Ctx, a: IdentifyArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    if let Some(file) = &a.file {
        let opts = bulk::Options {
            command: "identify",
            concurrency: a.concurrency as usize,
            report: a.report.clone(),
            format: ctx.format(),
        };
        let client = bulk::bulk_client(&client);
        let client = &client;
        let lines = bulk::ndjson_lines(file)?.map(|r| {
            r.map(|(n, parsed)| Line {
                line: n,
                item: parsed.and_then(|(_, v)| identify_pair(&v)),
            })
        });
        let summary = bulk::run(
            &opts,
            bulk::count_ndjson(file)?,
            lines,
            |(cref, user)| async move {
                match client.identify(&cref, &user).await {
                    Ok(r) if r.first_stitch || r.identity_id.is_some() => {
                        Done::created(r.identity_id.unwrap_or_default())
                    }
                    Ok(_) => Done::replayed(""),
                    Err(e) => Done::from_error(&e),
                }
            },
            |_| Ok(()),
        )
        .await?;
        return summary.finish(&opts);
    }
    let (Some(cref), Some(user)) = (&a.cref, &a.user_id) else {
        return Err(exit::usage("give --cref and --user-id, or --file"));
    };
    let r = client.identify(cref, user).await?;
    output::print_object(ctx.format(), Vec::new(), &to_json(&r)?, output::stdout())
}
