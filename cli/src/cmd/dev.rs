//! `dev mailbox | magic-link`: the reference server's dev mailbox (`GET /dev/mailbox`,
//! admin), where the sandbox keeps the mail it would have sent (invites, sign-in links).
//!
//! `auth login --magic-link EMAIL --from-dev-mailbox` uses [`new_sign_in_token`] to finish a
//! magic-link login without copying the link from the mailbox by hand.

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use openpartner::types::{MailMessage, MailPurpose};
use openpartner::Client;
use serde_json::{json, Value};

use crate::context::Ctx;
use crate::exit::{self, Code};
use crate::output::{self, Column, ListWriter};

/// `dev …`
#[derive(Debug, Subcommand)]
pub enum DevCmd {
    /// List the dev mailbox (oldest first): recipient, subject, purpose and link.
    ///
    /// Links contain sign-in tokens: they are printed on stdout only.
    Mailbox(MailboxArgs),
    /// Print the newest magic link mailed to EMAIL (one line), e.g. to open it in a browser.
    MagicLink {
        /// Recipient.
        email: String,
        /// Only mail of this purpose (default: any mail that carries a link).
        #[arg(long, value_enum)]
        purpose: Option<Purpose>,
    },
}

/// `--purpose` values (the mailbox's `metadata.purpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Purpose {
    /// Invitation of a new partner.
    PartnerInvite,
    /// Partner sign-in link (also login links).
    PartnerSignin,
    /// Invitation of a new admin.
    AdminInvite,
    /// Admin sign-in link.
    AdminSignin,
}

impl From<Purpose> for MailPurpose {
    fn from(p: Purpose) -> Self {
        match p {
            Purpose::PartnerInvite => MailPurpose::PartnerInvite,
            Purpose::PartnerSignin => MailPurpose::PartnerSignin,
            Purpose::AdminInvite => MailPurpose::AdminInvite,
            Purpose::AdminSignin => MailPurpose::AdminSignin,
        }
    }
}

impl Purpose {
    fn matches(self, p: &MailPurpose) -> bool {
        *p == MailPurpose::from(self)
    }
}

/// `dev mailbox` flags.
#[derive(Debug, Args)]
pub struct MailboxArgs {
    /// Only mail to this address (case-insensitive).
    #[arg(long, value_name = "EMAIL")]
    pub to: Option<String>,
    /// Only mail of this purpose.
    #[arg(long, value_enum)]
    pub purpose: Option<Purpose>,
    /// Only the newest N messages.
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
}

/// Mailbox columns: the table leaves out the body (it repeats the link).
pub fn mail_columns() -> Vec<Column> {
    vec![
        Column::both("to"),
        Column::both("subject"),
        Column::both("purpose"),
        Column::both("url"),
        Column::csv("body"),
    ]
}

/// One message as output: `{to, subject, purpose, url, body}` (token left out: the URL
/// carries it).
fn mail_json(m: &MailMessage) -> Value {
    json!({
        "to": m.to,
        "subject": m.subject,
        "purpose": m.metadata.purpose.as_str(),
        "url": m.metadata.url,
        "body": m.body,
    })
}

fn to_matches(m: &MailMessage, to: &str) -> bool {
    m.to.trim().eq_ignore_ascii_case(to.trim())
}

/// Runs `dev …`.
pub async fn run(ctx: &Ctx, cmd: DevCmd) -> Result<()> {
    let (client, _) = ctx.client()?;
    let mail = read_mailbox(&client).await?;
    match cmd {
        DevCmd::Mailbox(args) => {
            let selected: Vec<&MailMessage> = mail
                .iter()
                .filter(|m| args.to.as_deref().is_none_or(|to| to_matches(m, to)))
                .filter(|m| args.purpose.is_none_or(|p| p.matches(&m.metadata.purpose)))
                .collect();
            let skip = args.last.map_or(0, |n| selected.len().saturating_sub(n));
            let mut w = ListWriter::new(ctx.format(), mail_columns(), output::stdout());
            for m in &selected[skip..] {
                w.write(&mail_json(m))?;
            }
            w.finish()
        }
        DevCmd::MagicLink { email, purpose } => {
            let url = mail
                .iter()
                .rev()
                .filter(|m| to_matches(m, &email))
                .filter(|m| purpose.is_none_or(|p| p.matches(&m.metadata.purpose)))
                .find_map(|m| m.metadata.url.clone())
                .ok_or_else(|| {
                    exit::fail(
                        Code::NotFound,
                        format!("no magic link for {email} in the dev mailbox"),
                    )
                })?;
            use std::io::Write;
            let mut out = output::stdout();
            writeln!(out, "{url}")?;
            out.flush()?;
            Ok(())
        }
    }
}

/// `GET /dev/mailbox`, with a hint when the server has none (404 `route_not_found`).
pub async fn read_mailbox(client: &Client) -> Result<Vec<MailMessage>> {
    client.dev().mailbox().await.map_err(|e| {
        if e.status() == Some(404) {
            exit::fail(
                Code::NotFound,
                format!(
                    "this server has no dev mailbox (only the reference server keeps one): {e}"
                ),
            )
        } else {
            anyhow::Error::new(e).context("reading the dev mailbox (GET /dev/mailbox, admin)")
        }
    })
}

/// Reads the dev mailbox for `auth login --from-dev-mailbox`: returns a client for the
/// mailbox (the credential of `profile`, default the current one, resolved like every
/// command's: `OPENPARTNER_API_KEY` first) after checking it points at the server the login
/// goes to, and the number of messages already mailed to `email`.
pub async fn mailbox_before_sign_in(
    ctx: &Ctx,
    profile: Option<&str>,
    base_url: &str,
    tenant: Option<&str>,
    email: &str,
) -> Result<(Client, usize)> {
    let mut global = ctx.global.clone();
    if let Some(p) = profile {
        crate::config::validate_profile_name(p)?;
        global.profile = p.to_string();
    }
    if Ctx::env_api_key().is_none() {
        // A profile's credential goes only to the profile's own server: the login's
        // --base-url/--tenant must not redirect it (they are compared below instead).
        global.base_url = None;
        global.tenant = None;
    }
    let reader = Ctx {
        global,
        config_dir: ctx.config_dir.clone(),
    };
    let target = reader.target(true).map_err(|e| {
        exit::fail(
            Code::Auth,
            format!(
                "--from-dev-mailbox needs an admin credential to read the dev mailbox \
                 (OPENPARTNER_API_KEY, or --mailbox-profile NAME): {}",
                exit::one_line(&e)
            ),
        )
    })?;
    if target.base_url.trim_end_matches('/') != base_url.trim_end_matches('/')
        || target.tenant.as_deref() != tenant
    {
        return Err(exit::usage(format!(
            "the dev-mailbox credential is for {}{}, not for {base_url}{}: the link must be read \
             from the server the login goes to",
            target.base_url,
            target
                .tenant
                .map(|t| format!(" (tenant {t})"))
                .unwrap_or_default(),
            tenant.map(|t| format!(" (tenant {t})")).unwrap_or_default(),
        )));
    }
    let (client, _) = reader.client()?;
    let before = read_mailbox(&client)
        .await?
        .iter()
        .filter(|m| to_matches(m, email))
        .count();
    Ok((client, before))
}

/// The sign-in token of the first mail to `email` after the first `before` ones (the mail
/// the sign-in request just caused), or exit 4 when none arrived (no activated account
/// with that email, or it is revoked: the server mails nothing then).
pub async fn new_sign_in_token(client: &Client, email: &str, before: usize) -> Result<String> {
    let mail = read_mailbox(client).await?;
    mail.iter()
        .filter(|m| to_matches(m, email))
        .skip(before)
        .find(|m| {
            Purpose::AdminSignin.matches(&m.metadata.purpose)
                || Purpose::PartnerSignin.matches(&m.metadata.purpose)
        })
        .and_then(|m| m.metadata.token.as_ref().map(|t| t.expose().to_string()))
        .ok_or_else(|| {
            exit::fail(
                Code::Auth,
                format!(
                    "no sign-in mail for {email} arrived in the dev mailbox: there is no \
                     activated, non-revoked account with that email"
                ),
            )
        })
}
