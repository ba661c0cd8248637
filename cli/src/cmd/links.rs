//! `links [list] | links create`: a partner's tracking links (API.md §3.3).
//!
//! With a partner credential `--partner` defaults to (and must be) the partner itself.

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};

use crate::cmd::common::{self, Principal};
use crate::cmd::to_json;
use crate::context::Ctx;
use crate::exit::{self, Code};
use crate::output::{self, Column, ListWriter};

/// `openpartner links [COMMAND]`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Without a subcommand, lists links (like `links list`). With a partner \
                  credential, --partner defaults to yourself."
)]
pub struct LinksArgs {
    /// Subcommand (default: list).
    #[command(subcommand)]
    pub cmd: Option<LinksCmd>,
    /// Partner whose links to list (default in partner mode: yourself).
    #[arg(long, value_name = "PARTNER_ID")]
    pub partner: Option<String>,
}

/// `links …`
#[derive(Debug, Subcommand)]
pub enum LinksCmd {
    /// List a partner's links (newest first).
    List {
        /// Partner id (default in partner mode: yourself).
        #[arg(long, value_name = "PARTNER_ID")]
        partner: Option<String>,
    },
    /// Create a link for a partner and program.
    Create {
        /// Partner id (default in partner mode: yourself).
        #[arg(long, value_name = "PARTNER_ID")]
        partner: Option<String>,
        /// Link key (3-64 characters of A-Z a-z 0-9 _ -), unique per tenant.
        #[arg(long = "key", value_name = "LINK_KEY")]
        key: String,
        /// Program id.
        #[arg(long = "program", value_name = "PROGRAM_ID")]
        program: String,
        /// Destination override (host must be allowed by the program).
        #[arg(long)]
        destination_url: Option<String>,
    },
}

/// Link columns.
pub fn link_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("linkKey"),
        Column::both("partnerId"),
        Column::both("programId"),
        Column::both("destinationUrl"),
        Column::both("createdAt"),
        Column::csv("tenantId"),
    ]
}

/// The partner to act on: the flag, else the partner itself in partner mode.
pub fn which_partner(who: &Principal, flag: Option<String>) -> Result<String> {
    match (who, flag) {
        (Principal::Partner(me), Some(p)) if &p != me => Err(exit::fail(
            Code::Auth,
            "a partner credential can only act on its own partner",
        )),
        (Principal::Partner(me), _) => Ok(me.clone()),
        (_, Some(p)) => Ok(p),
        (_, None) => Err(exit::usage("--partner PARTNER_ID is required for admins")),
    }
}

/// Runs `links …`.
pub async fn run(ctx: &Ctx, args: LinksArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    let who = common::principal(&client).await?;
    match args.cmd {
        None | Some(LinksCmd::List { .. }) => {
            let flag = match args.cmd {
                Some(LinksCmd::List { partner }) => partner.or(args.partner),
                _ => args.partner,
            };
            let partner = which_partner(&who, flag)?;
            let links = client.links().list(&partner).await?;
            let mut w = ListWriter::new(ctx.format(), link_columns(), output::stdout());
            for l in &links {
                w.write(&to_json(l)?)?;
            }
            w.finish()
        }
        Some(LinksCmd::Create {
            partner,
            key,
            program,
            destination_url,
        }) => {
            let partner = which_partner(&who, partner.or(args.partner))?;
            let mut req = client.links().create(&partner, &key, &program);
            if let Some(d) = destination_url {
                req = req.destination_url(d);
            }
            let link = req.send().await.context("creating the link")?;
            output::print_object(
                ctx.format(),
                link_columns(),
                &to_json(&link)?,
                output::stdout(),
            )
        }
    }
}
