//! `programs list | create | update`: programs and their commission rules (API.md §3.2).
//!
//! A rule is given either as one simple rule (`--percent 20` or `--fixed 5 --currency EUR`,
//! sent as a single `every` sub-rule) or as a JSON file of 1–10 sub-rules
//! (`--rules-file rules.json`, an array of `{trigger, eventType?, type, value, currency?,
//! recurring?, recurringMonths?}`, or the legacy single object).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use openpartner::types::{AttributionModel, CommissionRule, LegacyRule, RuleType, SubRule};

use crate::cmd::common::{self, parse_decimal};
use crate::cmd::to_json;
use crate::context::Ctx;
use crate::exit;
use crate::output::{self, Column, ListWriter};

/// `programs …`
#[derive(Debug, Subcommand)]
pub enum ProgramsCmd {
    /// List programs (admin); with a partner credential, the partner's active programs.
    List,
    /// Create a program.
    Create(CreateArgs),
    /// Update a program (only the given fields change).
    Update(UpdateArgs),
}

/// `--model` values.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Model {
    /// All credit to the latest eligible click.
    LastClick,
    /// All credit to the earliest eligible click.
    FirstClick,
    /// Equal credit to every eligible click.
    Linear,
    /// 40 % first, 40 % last, the rest in between.
    Position,
}

impl From<Model> for AttributionModel {
    fn from(m: Model) -> Self {
        match m {
            Model::LastClick => AttributionModel::LastClick,
            Model::FirstClick => AttributionModel::FirstClick,
            Model::Linear => AttributionModel::Linear,
            Model::Position => AttributionModel::Position,
        }
    }
}

/// The commission rule flags.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Percentage of the event value, e.g. 20 (a single `every` rule).
    #[arg(long, value_name = "PERCENT", conflicts_with_all = ["fixed", "rules_file"])]
    pub percent: Option<String>,
    /// Fixed amount per event in major units, e.g. 5 (a single `every` rule).
    #[arg(long, value_name = "AMOUNT", conflicts_with = "rules_file")]
    pub fixed: Option<String>,
    /// Currency of a fixed rule (informational: commissions use the event's currency).
    #[arg(long, requires = "fixed")]
    pub currency: Option<String>,
    /// JSON file with 1-10 sub-rules (or the legacy single object).
    #[arg(long, value_name = "FILE")]
    pub rules_file: Option<PathBuf>,
}

impl RuleArgs {
    fn rule(&self) -> Result<Option<CommissionRule>> {
        if let Some(p) = &self.percent {
            let v = parse_decimal(p, "--percent")?;
            return Ok(Some(vec![SubRule::every(RuleType::Percent, v)].into()));
        }
        if let Some(f) = &self.fixed {
            let v = parse_decimal(f, "--fixed")?;
            let mut r = SubRule::every(RuleType::Fixed, v);
            r.currency = self.currency.as_ref().map(|c| c.to_uppercase());
            return Ok(Some(vec![r].into()));
        }
        if let Some(path) = &self.rules_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| exit::usage(format!("{}: not JSON: {e}", path.display())))?;
            let rule = if v.is_array() {
                CommissionRule::Rules(serde_json::from_value(v).map_err(|e| {
                    exit::usage(format!("{}: not a list of sub-rules: {e}", path.display()))
                })?)
            } else {
                CommissionRule::Legacy(serde_json::from_value::<LegacyRule>(v).map_err(|e| {
                    exit::usage(format!("{}: not a commission rule: {e}", path.display()))
                })?)
            };
            return Ok(Some(rule));
        }
        Ok(None)
    }
}

/// Options shared by create and update.
#[derive(Debug, Args)]
pub struct ProgramOpts {
    /// Attribution model.
    #[arg(long, value_enum)]
    pub model: Option<Model>,
    /// Attribution window in days (1-365).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub window_days: Option<u32>,
    /// Holdback before commissions can be approved, in days (0-365).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=365))]
    pub holdback_days: Option<u32>,
    /// Hosts allowed as link destination overrides (comma-separated).
    #[arg(long, value_name = "HOSTS")]
    pub deep_link_domains: Option<String>,
}

/// `programs create` flags.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Program name.
    #[arg(long)]
    pub name: String,
    /// Where links send visitors.
    #[arg(long)]
    pub destination_url: String,
    /// Commission rule.
    #[command(flatten)]
    pub rule: RuleArgs,
    /// Other settings.
    #[command(flatten)]
    pub opts: ProgramOpts,
    /// Idempotency key (safe retries on servers with `idempotency`).
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

/// `programs update` flags.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Program id.
    pub id: String,
    /// New name.
    #[arg(long)]
    pub name: Option<String>,
    /// New destination URL.
    #[arg(long)]
    pub destination_url: Option<String>,
    /// New commission rule.
    #[command(flatten)]
    pub rule: RuleArgs,
    /// Other settings.
    #[command(flatten)]
    pub opts: ProgramOpts,
}

/// Program columns.
pub fn program_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("name"),
        Column::both("attributionModel"),
        Column::both("attributionWindowDays"),
        Column::both("holdbackDays"),
        Column::both("commissionRule"),
        Column::both("destinationUrl"),
        Column::csv("deepLinkAllowedDomains"),
        Column::csv("startsAt"),
        Column::csv("endsAt"),
        Column::csv("createdAt"),
        Column::csv("tenantId"),
    ]
}

/// Runs `programs …`.
pub async fn run(ctx: &Ctx, cmd: ProgramsCmd) -> Result<()> {
    let (client, _) = ctx.client()?;
    match cmd {
        ProgramsCmd::List => {
            let who = common::principal(&client).await?;
            let mut w = ListWriter::new(ctx.format(), program_columns(), output::stdout());
            if who.partner_id().is_some() {
                for p in client.programs().me_programs().await? {
                    w.write(&to_json(&p)?)?;
                }
            } else {
                for p in client.programs().list().await? {
                    w.write(&to_json(&p)?)?;
                }
            }
            w.finish()
        }
        ProgramsCmd::Create(a) => {
            let rule = a.rule.rule()?.ok_or_else(|| {
                exit::usage("a commission rule is required: --percent, --fixed or --rules-file")
            })?;
            let mut req = client.programs().create(&a.name, rule, &a.destination_url);
            req = apply_opts(req, &a.opts);
            if let Some(k) = &a.idempotency_key {
                req = req.idempotency_key(k);
            }
            let p = req.send().await.context("creating the program")?;
            output::print_object(
                ctx.format(),
                program_columns(),
                &to_json(&p)?,
                output::stdout(),
            )
        }
        ProgramsCmd::Update(a) => {
            let mut req = client.programs().update(&a.id);
            if let Some(n) = &a.name {
                req = req.name(n);
            }
            if let Some(u) = &a.destination_url {
                req = req.destination_url(u);
            }
            if let Some(r) = a.rule.rule()? {
                req = req.commission_rule(r);
            }
            req = apply_opts(req, &a.opts);
            let p = req.send().await.context("updating the program")?;
            output::print_object(
                ctx.format(),
                program_columns(),
                &to_json(&p)?,
                output::stdout(),
            )
        }
    }
}

fn apply_opts(
    mut req: openpartner::api::programs::ProgramWrite,
    o: &ProgramOpts,
) -> openpartner::api::programs::ProgramWrite {
    if let Some(m) = o.model {
        req = req.attribution_model(m.into());
    }
    if let Some(d) = o.window_days {
        req = req.attribution_window_days(d);
    }
    if let Some(h) = o.holdback_days {
        req = req.holdback_days(Some(h));
    }
    if let Some(d) = &o.deep_link_domains {
        req = req.deep_link_allowed_domains(Some(d.clone()));
    }
    req
}
