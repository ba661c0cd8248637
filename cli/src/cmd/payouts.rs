//! `payouts run | confirm | list` (bare `openpartner payouts` = list).
//!
//! `run` pays every approved commission (one payout per partner and currency). It is sent
//! with an `Idempotency-Key`: pass `--idempotency-key` to make a retried script safe on
//! servers with the `idempotency` extension; without it the SDK never resends the run.

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};

use crate::cmd::common::{self};
use crate::cmd::links::which_partner;
use crate::cmd::to_json;
use crate::context::Ctx;
use crate::output::{self, Column, Format, ListWriter};

/// `openpartner payouts [COMMAND]`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Without a subcommand, lists payouts (like `payouts list`). With a partner \
                  credential, lists your own payouts."
)]
pub struct PayoutsArgs {
    /// Subcommand (default: list).
    #[command(subcommand)]
    pub cmd: Option<PayoutsCmd>,
    /// Partner whose payouts to list (default in partner mode: yourself).
    #[arg(long, value_name = "PARTNER_ID")]
    pub partner: Option<String>,
}

/// `payouts …`
#[derive(Debug, Subcommand)]
pub enum PayoutsCmd {
    /// Pay every approved commission: one payout per (partner, currency).
    Run {
        /// Idempotency key (makes a retried run safe on servers with `idempotency`).
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Confirm a pending payout as paid.
    Confirm {
        /// Payout id.
        id: String,
    },
    /// List a partner's payouts (newest 200).
    List {
        /// Partner id (default in partner mode: yourself).
        #[arg(long, value_name = "PARTNER_ID")]
        partner: Option<String>,
    },
}

fn payout_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("partnerId"),
        Column::both("amount"),
        Column::both("currency"),
        Column::both("method"),
        Column::both("status"),
        Column::both("createdAt"),
        Column::csv("completedAt"),
        Column::csv("metadata"),
        Column::csv("tenantId"),
    ]
}

/// Runs `payouts …`.
pub async fn run(ctx: &Ctx, args: PayoutsArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    match args.cmd {
        Some(PayoutsCmd::Run { idempotency_key }) => {
            let who = common::principal(&client).await?;
            common::admin_only(&who, "payouts run")?;
            let run = match idempotency_key {
                Some(k) => client.payouts().run_with_key(k).await,
                None => client.payouts().run().await,
            }
            .context("running payouts")?;
            output::info(&format!(
                "Payout run {}: {} payout(s).",
                run.run_id,
                run.payouts.len()
            ));
            let cols = vec![
                Column::both("payoutId"),
                Column::both("partnerId"),
                Column::both("amount"),
                Column::both("currency"),
                Column::both("method"),
                Column::both("status"),
            ];
            if ctx.format() == Format::Json {
                return output::print_object(
                    Format::Json,
                    Vec::new(),
                    &to_json(&run)?,
                    output::stdout(),
                );
            }
            let mut w = ListWriter::new(ctx.format(), cols, output::stdout());
            for p in &run.payouts {
                // `amount` is a JSON number on this route; show it with cents.
                let mut v = to_json(p)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("amount".into(), common::money(p.amount).into());
                }
                w.write(&v)?;
            }
            w.finish()
        }
        Some(PayoutsCmd::Confirm { id }) => {
            let who = common::principal(&client).await?;
            common::admin_only(&who, "payouts confirm")?;
            let p = client.payouts().confirm(&id).await?;
            output::print_object(
                ctx.format(),
                payout_columns(),
                &to_json(&p)?,
                output::stdout(),
            )
        }
        None | Some(PayoutsCmd::List { .. }) => {
            let flag = match args.cmd {
                Some(PayoutsCmd::List { partner }) => partner.or(args.partner),
                _ => args.partner,
            };
            let who = common::principal(&client).await?;
            let partner = which_partner(&who, flag)?;
            let list = client.payouts().list_for_partner(&partner).await?;
            let mut w = ListWriter::new(ctx.format(), payout_columns(), output::stdout());
            for p in &list {
                w.write(&to_json(p)?)?;
            }
            w.finish()
        }
    }
}
