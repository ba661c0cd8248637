//! `programs list | create | update`: programs and their commission rules (API.md §3.2);
//! `partners programs list | grant | revoke` (a partner's program grants) and
//! `partners snapshot get | set | delete` (a partner's commission snapshot, API.md §3.1).
//!
//! A rule is given either as one simple rule (`--percent 20` or `--fixed 5 --currency EUR`,
//! sent as a single `every` sub-rule) or as a JSON file of 1–10 sub-rules
//! (`--rules-file rules.json`, an array of `{trigger, eventType?, type, value, currency?,
//! recurring?, recurringMonths?}`, or the legacy single object).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand, ValueEnum};
use openpartner::types::{
    AttributionModel, CommissionRule, LegacyRule, RuleType, SnapshotInput, SubRule,
};
use serde_json::Value;

use crate::cmd::common::{self, parse_decimal};
use crate::cmd::links::which_partner;
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
            return read_rules_file(path).map(Some);
        }
        Ok(None)
    }
}

/// Reads a `--rules-file`: a JSON array of sub-rules, or the legacy single rule object.
/// Errors (exit 2): unreadable file, not JSON, not a rule.
pub fn read_rules_file(path: &std::path::Path) -> Result<CommissionRule> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| exit::usage(format!("{}: not JSON: {e}", path.display())))?;
    Ok(if v.is_array() {
        CommissionRule::Rules(serde_json::from_value(v).map_err(|e| {
            exit::usage(format!("{}: not a list of sub-rules: {e}", path.display()))
        })?)
    } else {
        CommissionRule::Legacy(
            serde_json::from_value::<LegacyRule>(v).map_err(|e| {
                exit::usage(format!("{}: not a commission rule: {e}", path.display()))
            })?,
        )
    })
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

/// `partners programs …` (admin): a partner's program grants.
#[derive(Debug, Subcommand)]
pub enum GrantsCmd {
    /// List every program with this partner's grant state (`granted`, source, time).
    List {
        /// Partner id.
        partner_id: String,
    },
    /// Grant programs to a partner (already granted ones are left as they are).
    Grant {
        /// Partner id.
        partner_id: String,
        /// Program ids.
        #[arg(required = true, value_name = "PROGRAM_ID")]
        program_ids: Vec<String>,
    },
    /// Remove a partner's grant of one program.
    Revoke {
        /// Partner id.
        partner_id: String,
        /// Program id.
        program_id: String,
    },
}

/// Program-grant columns (`GET /partners/:id/campaigns`).
pub fn grant_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("name"),
        Column::both("granted"),
        Column::both("grantSource"),
        Column::both("grantedAt"),
        Column::csv("destinationUrl"),
        Column::csv("deepLinkAllowedDomains"),
    ]
}

/// Runs `partners programs …`: `GET|POST /partners/:id/campaigns`,
/// `DELETE /partners/:id/programs/:programId`.
pub async fn grants(ctx: &Ctx, cmd: GrantsCmd) -> Result<()> {
    let (client, _) = ctx.client()?;
    match cmd {
        GrantsCmd::List { partner_id } => {
            let rows = client.partners().campaigns(&partner_id).await?;
            let mut w = ListWriter::new(ctx.format(), grant_columns(), output::stdout());
            for r in &rows {
                w.write(&to_json(r)?)?;
            }
            w.finish()
        }
        GrantsCmd::Grant {
            partner_id,
            program_ids,
        } => {
            let n = program_ids.len();
            let added = client
                .partners()
                .grant_programs(&partner_id, program_ids)
                .await
                .context("granting the programs")?;
            output::info(&format!(
                "Partner {partner_id}: {} new grant(s) of the {n} program(s) given.",
                added.len()
            ));
            // The contract leaves the shape of `added` open: columns come from the rows.
            let mut w = ListWriter::new(ctx.format(), Vec::new(), output::stdout());
            for a in &added {
                w.write(a)?;
            }
            w.finish()
        }
        GrantsCmd::Revoke {
            partner_id,
            program_id,
        } => {
            client
                .partners()
                .revoke_program(&partner_id, &program_id)
                .await?;
            output::info(&format!(
                "Partner {partner_id} no longer has program {program_id}."
            ));
            Ok(())
        }
    }
}

/// `partners snapshot …`: a partner's commission snapshot (its override of the programs'
/// commission rules).
#[derive(Debug, Subcommand)]
pub enum SnapshotCmd {
    /// Show the snapshot (none: the programs' rules apply). Partner mode: your own.
    Get {
        /// Partner id (default in partner mode: yourself).
        partner_id: Option<String>,
    },
    /// Set (replace) the snapshot (admin).
    Set(SnapshotSetArgs),
    /// Delete the snapshot: back to the programs' rules (admin).
    Delete {
        /// Partner id.
        partner_id: String,
    },
}

/// `partners snapshot set` flags.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("legacy_rule").required(true).args(["percent", "fixed"]))]
pub struct SnapshotSetArgs {
    /// Partner id.
    pub partner_id: String,
    /// Percentage of the event value, e.g. 25.
    #[arg(long, value_name = "PERCENT")]
    pub percent: Option<String>,
    /// Fixed amount per event in major units, e.g. 5.
    #[arg(long, value_name = "AMOUNT")]
    pub fixed: Option<String>,
    /// Pay on every later event of the same customer too.
    #[arg(long)]
    pub recurring: bool,
    /// Holdback override in days (0-365).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=365))]
    pub holdback_days: Option<u32>,
    /// Send `holdbackDays: null` (no holdback override).
    #[arg(long, conflicts_with = "holdback_days")]
    pub no_holdback: bool,
    /// JSON file with 1-10 sub-rules that replace the single rule above.
    #[arg(long, value_name = "FILE")]
    pub rules_file: Option<PathBuf>,
}

impl SnapshotSetArgs {
    /// The `PUT /partners/:id/commission-snapshot` body. Errors (exit 2): bad numbers, a
    /// rules file that is not a list of sub-rules.
    pub fn input(&self) -> Result<SnapshotInput> {
        let (commission_type, commission_value) = match (&self.percent, &self.fixed) {
            (Some(p), _) => (RuleType::Percent, parse_decimal(p, "--percent")?),
            (None, Some(f)) => (RuleType::Fixed, parse_decimal(f, "--fixed")?),
            (None, None) => return Err(exit::usage("give --percent or --fixed")),
        };
        let commission_rules = match &self.rules_file {
            None => None,
            Some(path) => match read_rules_file(path)? {
                CommissionRule::Rules(rules) => Some(rules),
                CommissionRule::Legacy(_) => {
                    return Err(exit::usage(format!(
                        "{}: a snapshot's --rules-file must be a list of sub-rules",
                        path.display()
                    )))
                }
            },
        };
        Ok(SnapshotInput {
            commission_type,
            commission_value,
            recurring: self.recurring.then_some(true),
            holdback_days: if self.no_holdback {
                Some(None)
            } else {
                self.holdback_days.map(Some)
            },
            commission_rules,
        })
    }
}

/// Commission-snapshot columns.
pub fn snapshot_columns() -> Vec<Column> {
    vec![
        Column::both("partnerId"),
        Column::both("commissionType"),
        Column::both("commissionValue"),
        Column::both("recurring"),
        Column::both("holdbackDays"),
        Column::both("commissionRules"),
        Column::both("source"),
        Column::both("snapshottedAt"),
    ]
}

/// Runs `partners snapshot …`: `GET|PUT|DELETE /partners/:id/commission-snapshot`.
pub async fn snapshot(ctx: &Ctx, cmd: SnapshotCmd) -> Result<()> {
    let (client, _) = ctx.client()?;
    match cmd {
        SnapshotCmd::Get { partner_id } => {
            let who = common::principal(&client).await?;
            let partner = which_partner(&who, partner_id)?;
            match client.partners().commission_snapshot(&partner).await? {
                Some(snap) => output::print_object(
                    ctx.format(),
                    snapshot_columns(),
                    &to_json(&snap)?,
                    output::stdout(),
                ),
                None => {
                    output::info(&format!(
                        "Partner {partner} has no commission snapshot: the programs' rules apply."
                    ));
                    match ctx.format() {
                        // JSON: `null`, as the wire's `{"snapshot": null}`.
                        output::Format::Json | output::Format::Ndjson => output::print_object(
                            output::Format::Ndjson,
                            Vec::new(),
                            &Value::Null,
                            output::stdout(),
                        ),
                        // CSV: the header and no row.
                        output::Format::Csv => ListWriter::new(
                            output::Format::Csv,
                            snapshot_columns(),
                            output::stdout(),
                        )
                        .finish(),
                        // Table: the note above is the answer.
                        output::Format::Table => Ok(()),
                    }
                }
            }
        }
        SnapshotCmd::Set(args) => {
            let input = args.input()?;
            let snap = client
                .partners()
                .set_commission_snapshot(&args.partner_id, &input)
                .await
                .context("setting the commission snapshot")?;
            output::print_object(
                ctx.format(),
                snapshot_columns(),
                &to_json(&snap)?,
                output::stdout(),
            )
        }
        SnapshotCmd::Delete { partner_id } => {
            client
                .partners()
                .delete_commission_snapshot(&partner_id)
                .await?;
            output::info(&format!(
                "Partner {partner_id}: commission snapshot deleted; the programs' rules apply."
            ));
            Ok(())
        }
    }
}
