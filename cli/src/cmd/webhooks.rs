//! `webhooks create | list | get | update | delete | deliveries | attempts | retry | test |
//! listen` (webhook endpoints and their deliveries, admin; `listen` in [`listen`]) and `partners postbacks list | create | update |
//! delete | attempts` (a partner's postbacks and \[EXT\] their sends; partner mode: your own),
//! API.md §3.6.

use anyhow::{Context as _, Result};
use clap::{ArgAction, Args, Subcommand};

use crate::cmd::common;
use crate::cmd::links::which_partner;
use crate::cmd::to_json;
use crate::context::Ctx;
use crate::exit;
use crate::output::{self, Column, ListWriter};

pub mod listen;

/// `webhooks …`
#[derive(Debug, Subcommand)]
pub enum WebhooksCmd {
    /// Create an endpoint; its signing secret is printed once.
    Create {
        /// Where deliveries are POSTed.
        #[arg(long)]
        url: String,
        /// Event type to deliver, e.g. commission.accrued, or `*` (repeatable, or
        /// comma-separated).
        #[arg(
            long = "event",
            value_name = "TYPE",
            required = true,
            value_delimiter = ','
        )]
        events: Vec<String>,
        /// Label (up to 80 characters).
        #[arg(long)]
        label: Option<String>,
    },
    /// List endpoints.
    List,
    /// Show one endpoint.
    Get {
        /// Endpoint id.
        id: String,
    },
    /// Change an endpoint (only the given fields change).
    Update {
        /// Endpoint id.
        id: String,
        /// New URL.
        #[arg(long)]
        url: Option<String>,
        /// New event types (replace the old ones; repeatable, or comma-separated).
        #[arg(long = "event", value_name = "TYPE", value_delimiter = ',')]
        events: Vec<String>,
        /// New label.
        #[arg(long, conflicts_with = "clear_label")]
        label: Option<String>,
        /// Remove the label.
        #[arg(long)]
        clear_label: bool,
        /// Reactivate the endpoint.
        #[arg(long, conflicts_with = "deactivate")]
        activate: bool,
        /// Stop deliveries to the endpoint (kept; `delete --hard` removes it).
        #[arg(long)]
        deactivate: bool,
    },
    /// Deactivate an endpoint, or remove it with --hard.
    Delete {
        /// Endpoint id.
        id: String,
        /// Remove the endpoint instead of deactivating it.
        #[arg(long)]
        hard: bool,
    },
    /// List an endpoint's newest 100 deliveries.
    Deliveries {
        /// Endpoint id.
        id: String,
    },
    /// Show a delivery's attempt log, oldest first.
    Attempts {
        /// Endpoint id.
        id: String,
        /// Delivery id.
        delivery_id: String,
    },
    /// Send a delivery again (same body, fresh timestamp and signature).
    Retry {
        /// Endpoint id.
        id: String,
        /// Delivery id.
        delivery_id: String,
    },
    /// Send a synthetic event to an endpoint.
    Test {
        /// Endpoint id.
        id: String,
        /// Event type (default: webhook.test).
        #[arg(long, value_name = "TYPE")]
        event: Option<String>,
    },
    /// Receive deliveries locally through a temporary endpoint, verify them and forward
    /// each, in order, to --forward-to; Ctrl-C deletes the endpoint.
    ///
    /// The server must be able to reach the receiver: http://127.0.0.1:<port>/ on the same
    /// machine, else pass --public-url (a tunnel to the port).
    Listen(listen::ListenArgs),
}

/// Endpoint columns.
pub fn endpoint_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("url"),
        Column::both("events"),
        Column::both("active"),
        Column::both("label"),
        Column::csv("secretPrefix"),
        Column::both("createdAt"),
        Column::csv("lastUsedAt"),
        Column::csv("tenantId"),
    ]
}

/// Delivery columns (the table leaves out the payload).
pub fn delivery_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("eventType"),
        Column::both("status"),
        Column::both("httpStatus"),
        Column::both("attempts"),
        Column::both("createdAt"),
        Column::csv("deliveredAt"),
        Column::csv("lastAttemptAt"),
        Column::csv("error"),
        Column::csv("eventId"),
        Column::csv("endpointId"),
        Column::csv("payload"),
    ]
}

/// Attempt-log columns.
pub fn attempt_columns() -> Vec<Column> {
    vec![
        Column::both("n"),
        Column::both("trigger"),
        Column::both("httpStatus"),
        Column::both("error"),
        Column::both("durationMs"),
        Column::both("at"),
        Column::csv("responseSnippet"),
    ]
}

/// Runs `webhooks …`.
pub async fn run(ctx: &Ctx, cmd: WebhooksCmd) -> Result<()> {
    let (client, _) = ctx.client()?;
    let hooks = client.webhooks();
    let one = |v: serde_json::Value| {
        output::print_object(ctx.format(), endpoint_columns(), &v, output::stdout())
    };
    match cmd {
        WebhooksCmd::Create { url, events, label } => {
            let mut req = hooks.create(url, events);
            if let Some(l) = label {
                req = req.label(l);
            }
            let created = req.send().await.context("creating the endpoint")?;
            output::info("The signing secret is shown once: store it now.");
            let mut v = to_json(&created.endpoint)?;
            if let Some(o) = v.as_object_mut() {
                o.insert("secret".into(), created.secret.expose().into());
            }
            output::print_object(ctx.format(), Vec::new(), &v, output::stdout())
        }
        WebhooksCmd::List => {
            let mut w = ListWriter::new(ctx.format(), endpoint_columns(), output::stdout());
            for e in hooks.list().await? {
                w.write(&to_json(&e)?)?;
            }
            w.finish()
        }
        WebhooksCmd::Get { id } => one(to_json(&hooks.get(&id).await?)?),
        WebhooksCmd::Update {
            id,
            url,
            events,
            label,
            clear_label,
            activate,
            deactivate,
        } => {
            if url.is_none()
                && events.is_empty()
                && label.is_none()
                && !clear_label
                && !activate
                && !deactivate
            {
                return Err(exit::usage(
                    "nothing to change: give --url, --event, --label, --clear-label, --activate or --deactivate",
                ));
            }
            let mut req = hooks.update(&id);
            if let Some(u) = url {
                req = req.url(u);
            }
            if !events.is_empty() {
                req = req.events(events);
            }
            if let Some(l) = label {
                req = req.label(l);
            }
            if clear_label {
                req = req.clear_label();
            }
            if activate || deactivate {
                req = req.active(activate);
            }
            one(to_json(
                &req.send().await.context("updating the endpoint")?,
            )?)
        }
        WebhooksCmd::Delete { id, hard } => {
            hooks.delete(&id, hard).await?;
            output::info(&if hard {
                format!("Endpoint {id} deleted.")
            } else {
                format!("Endpoint {id} deactivated (`--hard` removes it).")
            });
            Ok(())
        }
        WebhooksCmd::Deliveries { id } => {
            let mut w = ListWriter::new(ctx.format(), delivery_columns(), output::stdout());
            for d in hooks.deliveries(&id).await? {
                w.write(&to_json(&d)?)?;
            }
            w.finish()
        }
        WebhooksCmd::Attempts { id, delivery_id } => {
            let mut w = ListWriter::new(ctx.format(), attempt_columns(), output::stdout());
            for a in hooks.attempts(&id, &delivery_id).await? {
                w.write(&to_json(&a)?)?;
            }
            w.finish()
        }
        WebhooksCmd::Retry { id, delivery_id } => {
            let d = hooks.retry_delivery(&id, &delivery_id).await?;
            output::print_object(
                ctx.format(),
                delivery_columns(),
                &to_json(&d)?,
                output::stdout(),
            )
        }
        WebhooksCmd::Test { id, event } => {
            let t = hooks.test(&id, event.as_deref()).await?;
            output::print_object(ctx.format(), Vec::new(), &to_json(&t)?, output::stdout())
        }
        WebhooksCmd::Listen(args) => listen::run(ctx, &client, args).await,
    }
}

/// `partners postbacks …`: a partner's postbacks (admin, or the partner itself).
#[derive(Debug, Subcommand)]
pub enum PostbacksCmd {
    /// List the postbacks (the event types a postback may use are noted on stderr).
    List(PostbackPartner),
    /// Create a postback.
    Create {
        /// Whose postback.
        #[command(flatten)]
        partner: PostbackPartner,
        /// URL the partner's server listens on.
        #[arg(long)]
        url: String,
        /// Event type, commission.* (1-10; repeatable, or comma-separated).
        #[arg(
            long = "event",
            value_name = "TYPE",
            required = true,
            value_delimiter = ','
        )]
        events: Vec<String>,
        /// Create it disabled.
        #[arg(long)]
        disabled: bool,
    },
    /// Change a postback (only the given fields change).
    Update {
        /// Postback id.
        postback_id: String,
        /// Whose postback.
        #[command(flatten)]
        partner: PostbackPartner,
        /// New URL.
        #[arg(long)]
        url: Option<String>,
        /// New event types (repeatable, or comma-separated).
        #[arg(long = "event", value_name = "TYPE", value_delimiter = ',')]
        events: Vec<String>,
        /// Enable (true) or disable (false) it.
        #[arg(long, action = ArgAction::Set, value_name = "BOOL")]
        enabled: Option<bool>,
    },
    /// Delete a postback.
    Delete {
        /// Postback id.
        postback_id: String,
        /// Whose postback.
        #[command(flatten)]
        partner: PostbackPartner,
    },
    /// Show a postback's sends, oldest first (each is its one try: no retries).
    Attempts {
        /// Postback id.
        postback_id: String,
        /// Whose postback.
        #[command(flatten)]
        partner: PostbackPartner,
    },
}

/// The partner of a postback command.
#[derive(Debug, Args)]
pub struct PostbackPartner {
    /// Partner (admins; default in partner mode: yourself).
    #[arg(long, value_name = "PARTNER_ID")]
    pub partner: Option<String>,
}

/// Postback columns.
pub fn postback_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("url"),
        Column::both("events"),
        Column::both("enabled"),
        Column::both("createdAt"),
        Column::csv("partnerId"),
    ]
}

/// Postback attempt-log columns.
pub fn postback_attempt_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("eventType"),
        Column::both("status"),
        Column::both("httpStatus"),
        Column::both("error"),
        Column::both("durationMs"),
        Column::both("at"),
        Column::csv("url"),
        Column::csv("eventId"),
        Column::csv("createdAt"),
        Column::csv("responseSnippet"),
    ]
}

/// Runs `partners postbacks …`.
pub async fn postbacks(ctx: &Ctx, cmd: PostbacksCmd) -> Result<()> {
    let (client, _) = ctx.client()?;
    let who = common::principal(&client).await?;
    let partners = client.partners();
    let row = |p: &openpartner::types::Postback| -> Result<()> {
        output::print_object(
            ctx.format(),
            postback_columns(),
            &to_json(p)?,
            output::stdout(),
        )
    };
    match cmd {
        PostbacksCmd::List(p) => {
            let partner = which_partner(&who, p.partner)?;
            let list = partners.postbacks(&partner).await?;
            output::info(&format!(
                "Supported events: {}.",
                list.supported_events.join(", ")
            ));
            let mut w = ListWriter::new(ctx.format(), postback_columns(), output::stdout());
            for p in &list.postbacks {
                w.write(&to_json(p)?)?;
            }
            w.finish()
        }
        PostbacksCmd::Create {
            partner,
            url,
            events,
            disabled,
        } => {
            let partner = which_partner(&who, partner.partner)?;
            let p = partners
                .create_postback(&partner, url, events, disabled.then_some(false))
                .await
                .context("creating the postback")?;
            row(&p)
        }
        PostbacksCmd::Update {
            postback_id,
            partner,
            url,
            events,
            enabled,
        } => {
            if url.is_none() && events.is_empty() && enabled.is_none() {
                return Err(exit::usage(
                    "nothing to change: give --url, --event or --enabled",
                ));
            }
            let partner = which_partner(&who, partner.partner)?;
            let events = (!events.is_empty()).then_some(events);
            let p = partners
                .update_postback(&partner, &postback_id, url, events, enabled)
                .await
                .context("updating the postback")?;
            row(&p)
        }
        PostbacksCmd::Delete {
            postback_id,
            partner,
        } => {
            let partner = which_partner(&who, partner.partner)?;
            partners.delete_postback(&partner, &postback_id).await?;
            output::info(&format!("Postback {postback_id} deleted."));
            Ok(())
        }
        PostbacksCmd::Attempts {
            postback_id,
            partner,
        } => {
            let partner = which_partner(&who, partner.partner)?;
            let mut w = ListWriter::new(ctx.format(), postback_attempt_columns(), output::stdout());
            for a in partners.postback_attempts(&partner, &postback_id).await? {
                w.write(&to_json(&a)?)?;
            }
            w.finish()
        }
    }
}
