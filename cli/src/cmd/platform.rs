//! \[EXT\] `platform tenants create | list | get | api-keys create | login-link`: tenant
//! provisioning for resellers (API.md §5) on a multi-tenant server that advertises
//! `platform`.
//!
//! The platform key is a credential of its own, never the profile's admin credential and
//! never a flag (argv leaks into `ps` and shell history): `--platform-key-stdin` (first
//! non-empty line of stdin), else `OPENPARTNER_PLATFORM_KEY`, else the profile's platform
//! secret stored by `openpartner auth login --platform` (OS keyring, bounded and skipped
//! under `CI`, else the 0600 credentials file) — see [`crate::context::Ctx::platform_target`].
//! The routes live under `/platform/*`, outside every tenant, so `--tenant` /
//! `OPENPARTNER_TENANT` are refused (a profile's tenant is ignored).
//!
//! `tenants get` looks a tenant up by the external id you gave it (`--external-id`, as
//! `partners get --external-id`): the API has no lookup by tenant id. The old spellings
//! `platform admin-keys create` and `platform login-link` still work (hidden).

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use futures::TryStreamExt;
use openpartner::Client;
use serde_json::json;

use crate::cmd::to_json;
use crate::context::Ctx;
use crate::exit::{self, Code};
use crate::output::{self, Column, ListWriter};

/// `platform [--platform-key-stdin] …`
#[derive(Debug, Args)]
pub struct PlatformArgs {
    /// Read the platform key from standard input (first non-empty line) instead of
    /// OPENPARTNER_PLATFORM_KEY or the profile's stored platform key
    /// (`openpartner auth login --platform`).
    #[arg(long, global = true)]
    pub platform_key_stdin: bool,
    /// The command.
    #[command(subcommand)]
    pub cmd: PlatformCmd,
}

/// `platform …`
#[derive(Debug, Subcommand)]
pub enum PlatformCmd {
    /// Provision and look up tenants, create their admin keys and sign-in links.
    #[command(subcommand)]
    Tenants(TenantsCmd),
    /// Old spelling of `platform tenants api-keys`.
    #[command(subcommand, name = "admin-keys", hide = true)]
    AdminKeys(ApiKeysCmd),
    /// Old spelling of `platform tenants login-link`.
    #[command(hide = true)]
    LoginLink(LoginLinkArgs),
}

/// `platform tenants …`
#[derive(Debug, Subcommand)]
pub enum TenantsCmd {
    /// Create a tenant (reachable at once under `/t/<slug>`). Exit 6 when the slug or the
    /// external id is taken.
    Create {
        /// URL slug (`/t/<slug>`): a-z, 0-9 and '-', not reserved.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long, visible_alias = "display-name")]
        name: String,
        /// Your own id for the tenant (unique).
        #[arg(long)]
        external_id: Option<String>,
    },
    /// List tenants, oldest first: one page (the range and total are noted on stderr), or
    /// every page with --all.
    List {
        /// Tenants per page (1-100; the server's default is 50).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: Option<u32>,
        /// Skip this many tenants.
        #[arg(long, value_name = "N", conflicts_with = "all")]
        offset: Option<u64>,
        /// Fetch every page (--limit sets the page size) until the total is reached.
        #[arg(long)]
        all: bool,
    },
    /// Show the tenant with your external id for it.
    Get {
        /// The tenant's external id.
        #[arg(long, value_name = "EXTERNAL_ID")]
        external_id: String,
    },
    /// Create admin API keys of a tenant.
    #[command(subcommand, name = "api-keys")]
    ApiKeys(ApiKeysCmd),
    /// Create a 15-minute, single-use sign-in link for an admin of a tenant (the admin is
    /// created and activated if the tenant has none with that email). Nothing is mailed;
    /// the URL contains a token and is printed on stdout only. Exit 6 for a revoked admin.
    LoginLink(LoginLinkArgs),
}

/// `platform tenants api-keys …`
#[derive(Debug, Subcommand)]
pub enum ApiKeysCmd {
    /// Create an admin key of a tenant (the plaintext is shown once); use it with
    /// `--tenant <slug>`.
    Create {
        /// Tenant id.
        tenant_id: String,
        /// Label shown in listings.
        #[arg(long)]
        label: Option<String>,
    },
}

/// `platform tenants login-link TENANT_ID --email E`
#[derive(Debug, Args)]
pub struct LoginLinkArgs {
    /// Tenant id.
    pub tenant_id: String,
    /// The admin's email.
    #[arg(long)]
    pub email: String,
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

/// Checks that `client`'s key is a platform key of a server with tenant provisioning
/// (`GET /platform/tenants?limit=1`; used by `auth login --platform`). Errors: exit 4 when
/// the server rejects the key, exit 2 when it lacks the `platform` extension.
pub async fn check_key(client: &Client) -> Result<()> {
    match client.platform().list_tenants(Some(1), None).await {
        Ok(_) => Ok(()),
        Err(openpartner::Error::Unsupported { .. }) => Err(exit::usage(
            "this server does not offer tenant provisioning (no `platform` extension: \
             it needs multi-tenant mode and a platform key)",
        )),
        Err(e) if e.is_auth() => Err(exit::fail(
            Code::Auth,
            format!("the server rejected this platform key ({e})"),
        )),
        Err(e) => Err(anyhow::Error::new(e).context("checking the platform key")),
    }
}

/// Runs `platform …`.
pub async fn run(ctx: &Ctx, args: PlatformArgs) -> Result<()> {
    if ctx.global.tenant.is_some() {
        return Err(exit::usage(
            "platform routes are outside every tenant: drop --tenant / OPENPARTNER_TENANT",
        ));
    }
    let from_stdin = if args.platform_key_stdin {
        Some(crate::cmd::auth::read_secret("Platform key: ")?)
    } else {
        None
    };
    let target = ctx.platform_target(from_stdin)?;
    let client = ctx.build_client(&target.base_url, None, target.credentials.map(|(c, _)| c))?;
    let platform = client.platform();
    match args.cmd {
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
        PlatformCmd::Tenants(TenantsCmd::List { limit, all, .. }) if all => {
            let mut w = ListWriter::new(ctx.format(), tenant_columns(), output::stdout());
            let mut rows = platform.all_tenants(limit);
            let mut n = 0u64;
            while let Some(t) = rows.try_next().await? {
                w.write(&to_json(&t)?)?;
                n += 1;
            }
            w.finish()?;
            output::info(&format!("{n} tenants."));
            Ok(())
        }
        PlatformCmd::Tenants(TenantsCmd::List { limit, offset, .. }) => {
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
        PlatformCmd::Tenants(TenantsCmd::ApiKeys(ApiKeysCmd::Create { tenant_id, label }))
        | PlatformCmd::AdminKeys(ApiKeysCmd::Create { tenant_id, label }) => {
            let k = platform
                .create_admin_key(&tenant_id, label)
                .await
                .context("creating the admin key")?;
            output::info("The key is shown once: store it now.");
            let v = json!({"id": k.id, "tenantId": tenant_id, "plaintext": k.plaintext.expose()});
            output::print_object(ctx.format(), Vec::new(), &v, output::stdout())
        }
        PlatformCmd::Tenants(TenantsCmd::LoginLink(LoginLinkArgs { tenant_id, email }))
        | PlatformCmd::LoginLink(LoginLinkArgs { tenant_id, email }) => {
            let link = platform
                .login_link(&tenant_id, &email)
                .await
                .context("creating the login link")?;
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
