//! \[EXT\] `platform tenants create | list | get --external-id`, `platform admin-keys create`
//! and `platform login-link`: tenant provisioning for resellers (API.md §5), with a platform
//! key (`OPENPARTNER_API_KEY` or a profile holding one) on a multi-tenant server. The routes
//! live under `/platform/*`, outside any tenant, so `--tenant` must not be given.

use anyhow::{Context as _, Result};
use clap::Subcommand;
use serde_json::json;

use crate::cmd::to_json;
use crate::context::Ctx;
use crate::exit;
use crate::output::{self, Column, ListWriter};

/// `platform …`
#[derive(Debug, Subcommand)]
pub enum PlatformCmd {
    /// Provision and look up tenants.
    #[command(subcommand)]
    Tenants(TenantsCmd),
    /// Create admin API keys of a tenant.
    #[command(subcommand, name = "admin-keys")]
    AdminKeys(AdminKeysCmd),
    /// Create a 15-minute sign-in link for an admin of a tenant (the admin is created and
    /// activated if needed). The URL contains a token: printed on stdout only.
    LoginLink {
        /// Tenant id.
        tenant_id: String,
        /// The admin's email.
        #[arg(long)]
        email: String,
    },
}

/// `platform tenants …`
#[derive(Debug, Subcommand)]
pub enum TenantsCmd {
    /// Create a tenant.
    Create {
        /// URL slug (`/t/<slug>`).
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Your own id for the tenant.
        #[arg(long)]
        external_id: Option<String>,
    },
    /// List one page of tenants (the total is noted on stderr).
    List {
        /// Tenants in the page (1-100; the server's default is 50).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: Option<u32>,
        /// Skip this many tenants.
        #[arg(long, value_name = "N")]
        offset: Option<u64>,
    },
    /// Look a tenant up by its external id.
    Get {
        /// The tenant's external id.
        #[arg(long, value_name = "EXTERNAL_ID")]
        external_id: String,
    },
}

/// `platform admin-keys …`
#[derive(Debug, Subcommand)]
pub enum AdminKeysCmd {
    /// Create an admin key of a tenant (the plaintext is shown once).
    Create {
        /// Tenant id.
        tenant_id: String,
        /// Label shown in listings.
        #[arg(long)]
        label: Option<String>,
    },
}

/// Tenant columns.
pub fn tenant_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("slug"),
        Column::both("displayName"),
        Column::both("externalId"),
        Column::both("createdAt"),
    ]
}

/// Runs `platform …`.
pub async fn run(ctx: &Ctx, cmd: PlatformCmd) -> Result<()> {
    let target = ctx.target(true)?;
    if target.tenant.is_some() {
        return Err(exit::usage(
            "platform routes are outside every tenant: drop --tenant / OPENPARTNER_TENANT",
        ));
    }
    let (client, _) = ctx.client()?;
    let platform = client.platform();
    match cmd {
        PlatformCmd::Tenants(TenantsCmd::Create {
            slug,
            name,
            external_id,
        }) => {
            let t = platform
                .create_tenant(slug, name, external_id)
                .await
                .context("creating the tenant")?;
            output::print_object(
                ctx.format(),
                tenant_columns(),
                &to_json(&t)?,
                output::stdout(),
            )
        }
        PlatformCmd::Tenants(TenantsCmd::List { limit, offset }) => {
            let page = platform.list_tenants(limit, offset).await?;
            if let Some(total) = page.total {
                output::info(&format!(
                    "Tenants {}-{} of {total}.",
                    page.page.offset + u64::from(!page.page.items.is_empty()),
                    page.page.offset + page.page.items.len() as u64
                ));
            }
            let mut w = ListWriter::new(ctx.format(), tenant_columns(), output::stdout());
            for t in &page.page.items {
                w.write(&to_json(t)?)?;
            }
            w.finish()
        }
        PlatformCmd::Tenants(TenantsCmd::Get { external_id }) => {
            let t = platform.tenant_by_external_id(&external_id).await?;
            output::print_object(
                ctx.format(),
                tenant_columns(),
                &to_json(&t)?,
                output::stdout(),
            )
        }
        PlatformCmd::AdminKeys(AdminKeysCmd::Create { tenant_id, label }) => {
            let k = platform
                .create_admin_key(&tenant_id, label)
                .await
                .context("creating the admin key")?;
            output::info("The key is shown once: store it now.");
            let v = json!({"id": k.id, "tenantId": tenant_id, "plaintext": k.plaintext.expose()});
            output::print_object(ctx.format(), Vec::new(), &v, output::stdout())
        }
        PlatformCmd::LoginLink { tenant_id, email } => {
            let link = platform.login_link(&tenant_id, &email).await?;
            let v = json!({
                "tenantId": tenant_id,
                "email": email,
                "url": link.url.expose(),
                "expiresAt": openpartner::types::ts::format(&link.expires_at),
            });
            output::print_object(ctx.format(), Vec::new(), &v, output::stdout())
        }
    }
}
