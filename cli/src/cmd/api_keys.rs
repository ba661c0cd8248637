//! `api-keys create | create-scoped | create-partner | list | revoke | rotate`.
//!
//! A created key's plaintext is printed exactly once, on stdout (it is the command's
//! result), with a reminder on stderr that it cannot be shown again.

use anyhow::{Context, Result};
use openpartner::types::{ApiKeyInfo, CreatedApiKey};
use serde_json::{json, Map, Value};

use crate::cli::{ApiKeysCmd, KeyCreateArgs};
use crate::cmd::to_json;
use crate::context::Ctx;
use crate::exit::{self, Code};
use crate::output::{self, Column, ListWriter};

/// Columns of key listings.
fn key_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("prefix"),
        Column::both("label"),
        Column::both("scopes"),
        Column::csv("allowedIps"),
        Column::both("createdAt"),
        Column::both("lastUsedAt"),
        Column::both("revokedAt"),
    ]
}

/// The JSON printed for a new key: `{id, plaintext, scopes?, allowedIps?}` (wire names).
fn created_json(key: &CreatedApiKey) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(key.id.to_string()));
    m.insert("plaintext".into(), json!(key.plaintext.expose()));
    if let Some(scopes) = &key.scopes {
        m.insert("scopes".into(), json!(scopes));
    }
    if let Some(ips) = &key.allowed_ips {
        m.insert("allowedIps".into(), json!(ips));
    }
    Value::Object(m)
}

fn print_created(ctx: &Ctx, key: &CreatedApiKey) -> Result<()> {
    output::print_object(
        ctx.format(),
        Vec::new(),
        &created_json(key),
        output::stdout(),
    )?;
    output::note("store this key now: it will not be shown again");
    Ok(())
}

/// Runs an `api-keys` subcommand.
pub async fn run(ctx: &Ctx, cmd: ApiKeysCmd) -> Result<()> {
    let (client, _) = ctx.client()?;
    let keys = client.api_keys();
    match cmd {
        ApiKeysCmd::Create(opts) => {
            let key = apply(keys.create(), opts).send().await?;
            print_created(ctx, &key)
        }
        ApiKeysCmd::CreateScoped { scopes, opts } => {
            let scopes: Vec<String> = scopes
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if scopes.is_empty() {
                return Err(exit::usage("at least one --scope is required"));
            }
            let key = apply(keys.create_scoped(scopes), opts).send().await?;
            print_created(ctx, &key)
        }
        ApiKeysCmd::CreatePartner { partner_id, opts } => {
            let key = apply(keys.create_for_partner(&partner_id), opts)
                .send()
                .await?;
            print_created(ctx, &key)
        }
        ApiKeysCmd::List { scope, partner } => {
            let list = match &partner {
                Some(p) => keys.list_for_partner(p).await?,
                None => {
                    let mut req = keys.list();
                    if let Some(s) = &scope {
                        req = req.scope(s);
                    }
                    req.send().await?
                }
            };
            let mut w = ListWriter::new(ctx.format(), key_columns(), output::stdout());
            for k in &list {
                w.write(&to_json(k)?)?;
            }
            w.finish()
        }
        ApiKeysCmd::Revoke { key_id } => {
            keys.revoke(&key_id).await?;
            output::info(&format!("API key {key_id} revoked."));
            Ok(())
        }
        ApiKeysCmd::Rotate {
            key_id,
            partner,
            admin,
            label,
        } => {
            // 1. Find the old key to copy its kind and settings.
            let old: Option<ApiKeyInfo> = match &partner {
                Some(p) => Some(find(keys.list_for_partner(p).await?, &key_id).ok_or_else(
                    || {
                        exit::fail(
                            Code::NotFound,
                            format!("partner {p} has no API key {key_id}"),
                        )
                    },
                )?),
                None if admin => None,
                None => Some(find(keys.list().send().await?, &key_id).ok_or_else(|| {
                    exit::fail(
                        Code::NotFound,
                        format!(
                            "no scoped API key {key_id}; for a partner key pass --partner ID, \
                             for an admin key pass --admin"
                        ),
                    )
                })?),
            };
            if old.as_ref().is_some_and(|k| k.revoked_at.is_some()) {
                return Err(exit::fail(
                    Code::Conflict,
                    format!("API key {key_id} is already revoked"),
                ));
            }
            let new_label = label.or_else(|| old.as_ref().and_then(|k| k.label.clone()));
            let allowed_ips = old
                .as_ref()
                .and_then(|k| k.allowed_ips.clone())
                .unwrap_or_default();
            let opts = KeyCreateArgs {
                label: new_label,
                allowed_ips,
            };
            // 2. Create the replacement and print it before touching the old key, so the
            //    new plaintext is never lost.
            let new_key = match (&partner, &old) {
                (Some(p), _) => apply(keys.create_for_partner(p), opts).send().await,
                (None, Some(k)) => {
                    let scopes = k.scopes.clone().unwrap_or_default();
                    if scopes.is_empty() {
                        return Err(exit::fail(
                            Code::Error,
                            format!("API key {key_id} has no scopes to copy"),
                        ));
                    }
                    apply(keys.create_scoped(scopes), opts).send().await
                }
                (None, None) => apply(keys.create(), opts).send().await,
            }
            .context("creating the replacement key")?;
            print_created(ctx, &new_key)?;
            // 3. Revoke the old key.
            keys.revoke(&key_id).await.with_context(|| {
                format!(
                    "the new key {} was created but revoking the old key {key_id} failed; revoke it with `openpartner api-keys revoke {key_id}`",
                    new_key.id
                )
            })?;
            output::info(&format!(
                "API key {key_id} revoked; replaced by {}.",
                new_key.id
            ));
            Ok(())
        }
    }
}

fn find(list: Vec<ApiKeyInfo>, id: &str) -> Option<ApiKeyInfo> {
    list.into_iter().find(|k| k.id == id)
}

/// Applies `--label` / `--allowed-ip` to a key-creation builder.
fn apply(
    mut req: openpartner::api::api_keys::CreateApiKey,
    opts: KeyCreateArgs,
) -> openpartner::api::api_keys::CreateApiKey {
    if let Some(l) = opts.label {
        req = req.label(l);
    }
    if !opts.allowed_ips.is_empty() {
        req = req.allowed_ips(opts.allowed_ips);
    }
    req
}
