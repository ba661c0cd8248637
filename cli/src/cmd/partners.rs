//! `partners create | list | get | invite | revoke | reinstate | import | login-link`, and
//! the per-partner nouns: `partners programs …` and `partners snapshot …` (in
//! [`crate::cmd::programs`]), `partners events` and `partners customers` (in
//! [`crate::cmd::analytics`]), `partners postbacks …` (in [`crate::cmd::webhooks`]).

use anyhow::{Context, Result};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::cli::{PartnerCreateArgs, PartnerListArgs, PartnersCmd};
use crate::cmd::{analytics, programs, to_json, webhooks};
use crate::context::Ctx;
use crate::exit;
use crate::import::{self, ImportOptions};
use crate::output::{self, Column, ListWriter};

/// Partner columns: CSV has every wire field in this stable order; the table shows a subset
/// plus a derived `status` (revoked / active / pending).
pub fn partner_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("email"),
        Column::both("name"),
        Column::both("externalId"),
        Column::derived("status", partner_status),
        Column::csv("tenantId"),
        Column::csv("stripeConnectAccountId"),
        Column::csv("metadata"),
        Column::both("createdAt"),
        Column::csv("updatedAt"),
        Column::csv("activatedAt"),
        Column::csv("revokedAt"),
        Column::csv("revokeReason"),
    ]
}

/// `revoked` when `revokedAt` is set, `active` when `activatedAt` is set, else `pending`.
fn partner_status(p: &Value) -> Value {
    let set = |k: &str| p.get(k).is_some_and(|v| !v.is_null());
    Value::String(
        if set("revokedAt") {
            "revoked"
        } else if set("activatedAt") {
            "active"
        } else {
            "pending"
        }
        .into(),
    )
}

/// Runs a `partners` subcommand.
pub async fn run(ctx: &Ctx, cmd: PartnersCmd) -> Result<()> {
    match cmd {
        PartnersCmd::Create(args) => create(ctx, args).await,
        PartnersCmd::List(args) => list(ctx, args).await,
        PartnersCmd::Get(args) => {
            let (client, _) = ctx.client()?;
            let p = match (&args.id, &args.external_id) {
                (_, Some(ext)) => client.partners().by_external_id(ext).await?,
                (Some(id), None) => client.partners().get(id).await?,
                (None, None) => return Err(exit::usage("give a partner id or --external-id")),
            };
            output::print_object(
                ctx.format(),
                partner_columns(),
                &to_json(&p)?,
                output::stdout(),
            )
        }
        PartnersCmd::Invite { id } => {
            let (client, _) = ctx.client()?;
            client.partners().invite(&id).await?;
            output::info(&format!("Invite sent to partner {id}."));
            Ok(())
        }
        PartnersCmd::Revoke {
            id,
            reason,
            no_notify,
        } => {
            let (client, _) = ctx.client()?;
            let mut req = client.partners().revoke(&id);
            if let Some(r) = reason {
                req = req.reason(r);
            }
            if no_notify {
                req = req.notify(false);
            }
            let result = req.send().await?;
            output::info(&format!("Partner {id} revoked."));
            output::print_object(
                ctx.format(),
                Vec::new(),
                &to_json(&result)?,
                output::stdout(),
            )
        }
        PartnersCmd::Reinstate { id } => {
            let (client, _) = ctx.client()?;
            client.partners().reinstate(&id).await?;
            output::info(&format!("Partner {id} reinstated."));
            Ok(())
        }
        PartnersCmd::LoginLink { id } => {
            let (client, _) = ctx.client()?;
            let link = client.partners().login_link(&id).await?;
            let value = json!({
                "partnerId": id,
                "url": link.url.expose(),
                "expiresAt": openpartner::types::ts::format(&link.expires_at),
            });
            output::print_object(ctx.format(), Vec::new(), &value, output::stdout())
        }
        PartnersCmd::Programs(cmd) => programs::grants(ctx, cmd).await,
        PartnersCmd::Snapshot(cmd) => programs::snapshot(ctx, cmd).await,
        PartnersCmd::Events(args) => analytics::events(ctx, args).await,
        PartnersCmd::Customers(args) => analytics::customers(ctx, args).await,
        PartnersCmd::Postbacks(cmd) => webhooks::postbacks(ctx, cmd).await,
        PartnersCmd::Import(args) => {
            let opts = ImportOptions {
                concurrency: args.concurrency as usize,
                send_invite: if args.no_invite {
                    Some(false)
                } else if args.send_invite {
                    Some(true)
                } else {
                    None
                },
                dry_run: args.dry_run,
                report: args.report,
                columns: import::Columns {
                    metadata: args.metadata_columns,
                    strict: args.strict,
                },
            };
            import::run(&args.file, &opts, ctx.format(), || async {
                Ok(ctx.client()?.0)
            })
            .await
        }
    }
}

async fn create(ctx: &Ctx, args: PartnerCreateArgs) -> Result<()> {
    let metadata = match &args.metadata {
        Some(text) => {
            let v: Value = serde_json::from_str(text)
                .map_err(|e| exit::usage(format!("--metadata is not valid JSON: {e}")))?;
            if !v.is_object() {
                return Err(exit::usage("--metadata must be a JSON object"));
            }
            Some(v)
        }
        None => None,
    };
    let (client, _) = ctx.client()?;
    let mut req = client.partners().create(&args.email, &args.name);
    if let Some(m) = metadata {
        req = req.metadata(m);
    }
    if args.no_invite {
        req = req.send_invite(false);
    }
    if args.no_programs {
        req = req.program_ids(Vec::new());
    } else if !args.program_ids.is_empty() {
        req = req.program_ids(args.program_ids.clone());
    }
    if let Some(ext) = &args.external_id {
        req = req.external_id(ext);
    }
    if let Some(key) = &args.idempotency_key {
        req = req.idempotency_key(key);
    }
    let created = req.send().await.context("creating the partner")?;
    let value = to_json(&created.data)?;
    output::print_object(ctx.format(), partner_columns(), &value, output::stdout())
}

async fn list(ctx: &Ctx, args: PartnerListArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    let mut req = client.partners().list();
    if let Some(email) = &args.email {
        req = req.email(email);
    }
    let page_size = args
        .page_size
        .unwrap_or_else(|| args.limit.map_or(200, |l| l.clamp(1, 200) as u32));
    req = req.page_size(page_size);
    if let Some(limit) = args.limit {
        req = req.limit(limit);
    }
    let mut writer = ListWriter::new(ctx.format(), partner_columns(), output::stdout());
    let stream = req.stream();
    futures::pin_mut!(stream);
    while let Some(item) = stream.next().await {
        let partner = item?;
        writer.write(&to_json(&partner)?)?;
    }
    writer.finish()
}
