//! Partner mode: `me` and `stats`.
//!
//! The CLI shape: with a partner credential (`/auth/introspect` role `partner`), the normal
//! nouns detect the role and act on the partner's own id — `links`, `commissions`,
//! `payouts`, `programs list` — and two top-level commands exist for the partner's own view:
//! `me` (the partner row plus the role) and `stats` (the dashboard). No admin route is
//! called for a partner credential; admin-only verbs are refused locally (exit 4).
//! `me` and `stats` also work for admins with `--partner` on `stats`.

use anyhow::Result;
use clap::Args;
use serde_json::json;

use crate::cmd::analytics;
use crate::cmd::common::{self, parse_time, Principal};
use crate::cmd::links::which_partner;
use crate::cmd::to_json;
use crate::context::Ctx;
use crate::output;

/// `stats` flags.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Window start (RFC 3339 or YYYY-MM-DD; server default: the last 30 days).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Partner (admins only; default in partner mode: yourself).
    #[arg(long, value_name = "PARTNER_ID")]
    pub partner: Option<String>,
    /// Show the buckets over time (`GET /partners/:id/timeseries`) instead of the dashboard.
    #[arg(long)]
    pub timeseries: bool,
    /// Bucket size of --timeseries (server default: week beyond 90 days, else day).
    #[arg(long, value_enum, requires = "timeseries")]
    pub bucket: Option<analytics::Bucket>,
    /// End of the --timeseries range (RFC 3339, or YYYY-MM-DD = that whole day included).
    #[arg(long, value_name = "TIME", requires = "timeseries")]
    pub until: Option<String>,
    /// Only this program (--timeseries).
    #[arg(long, value_name = "PROGRAM_ID", requires = "timeseries")]
    pub program: Option<String>,
}

/// `openpartner me`: the credential's role, and the partner row in partner mode.
pub async fn me(ctx: &Ctx) -> Result<()> {
    let (client, _) = ctx.client()?;
    let who = common::principal(&client).await?;
    let value = match &who {
        Principal::Partner(id) => {
            let p = client.partners().get(id).await?;
            let mut v = to_json(&p)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("role".into(), json!("partner"));
            }
            v
        }
        Principal::Admin => json!({"role": "admin"}),
        Principal::Scoped(scopes) => json!({"role": "scoped", "scopes": scopes}),
    };
    output::print_object(ctx.format(), Vec::new(), &value, output::stdout())
}

/// `openpartner stats`: `GET /partners/:id/dashboard`, or with `--timeseries`
/// `GET /partners/:id/timeseries`.
pub async fn stats(ctx: &Ctx, args: StatsArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    let who = common::principal(&client).await?;
    let partner = which_partner(&who, args.partner)?;
    if args.timeseries {
        return analytics::timeseries(
            ctx,
            &client,
            &partner,
            args.since.as_deref(),
            args.until.as_deref(),
            args.program.as_deref(),
            args.bucket,
        )
        .await;
    }
    let mut q = client.partners().dashboard(&partner);
    if let Some(s) = &args.since {
        q = q.since(parse_time(s, false)?);
    }
    let d = q.send().await?;
    output::print_object(ctx.format(), Vec::new(), &to_json(&d)?, output::stdout())
}
