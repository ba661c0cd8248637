//! `auth login | status | logout`.

use std::io::{self, BufRead, IsTerminal};

use anyhow::{Context, Result};
use openpartner::Credentials;
use serde_json::{json, Value};

use crate::cli::{AuthCmd, LoginArgs};
use crate::cmd::dev;
use crate::config::{CredentialKind, Profile};
use crate::context::{Ctx, API_KEY_ENV};
use crate::exit::{self, Code};
use crate::output::{self, Format};
use crate::secrets::Source;

/// Runs an `auth` subcommand.
pub async fn run(ctx: &Ctx, cmd: AuthCmd) -> Result<()> {
    match cmd {
        AuthCmd::Login(args) => login(ctx, args).await,
        AuthCmd::Status => status(ctx).await,
        AuthCmd::Logout => logout(ctx).await,
    }
}

/// Reads a secret: the first non-empty line of stdin when stdin is not a terminal, else a
/// hidden prompt on the terminal. Never from argv. Errors: nothing read (exit 2), I/O.
pub fn read_secret(prompt: &str) -> Result<String> {
    let value = if io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).context("reading from the terminal")?
    } else {
        let mut found = String::new();
        for line in io::stdin().lock().lines() {
            let line = line.context("reading standard input")?;
            if !line.trim().is_empty() {
                found = line;
                break;
            }
        }
        found
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(exit::usage(
            "no input: nothing was read from standard input or the prompt",
        ));
    }
    Ok(value)
}

/// The magic-link token from what the user pasted: a bare token, or a URL (or any text)
/// containing `token=<value>`.
pub fn extract_token(input: &str) -> Option<String> {
    let input = input.trim();
    if let Some(pos) = input.find("token=") {
        let rest = &input[pos + "token=".len()..];
        let token: String = rest
            .chars()
            .take_while(|c| !matches!(c, '&' | '#' | ' ' | '"' | '\'' | '>'))
            .collect();
        return (!token.is_empty()).then_some(token);
    }
    if !input.is_empty() && !input.contains(char::is_whitespace) {
        return Some(input.to_string());
    }
    None
}

fn role_text<T: serde::Serialize>(role: &T) -> String {
    match serde_json::to_value(role) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "unknown".into(),
    }
}

async fn login(ctx: &Ctx, args: LoginArgs) -> Result<()> {
    if args.platform {
        return login_platform(ctx).await;
    }
    let name = ctx.global.profile.clone();
    let mut cfg = ctx.config()?;
    let existing = cfg.profile(&name).cloned().unwrap_or_default();
    let base_url = ctx
        .global
        .base_url
        .clone()
        .or(existing.base_url.clone())
        .ok_or_else(|| {
            exit::usage("no base URL: pass --base-url URL (or set OPENPARTNER_BASE_URL)")
        })?;
    let tenant = ctx.global.tenant.clone().or(existing.tenant.clone());

    let (secret, kind, role) = match &args.magic_link {
        Some(email) => {
            let client = ctx.build_client(&base_url, tenant.as_deref(), None)?;
            // With --from-dev-mailbox: count the mail already there, so the link taken
            // afterwards is the one this sign-in caused.
            let mailbox = if args.from_dev_mailbox {
                Some(
                    dev::mailbox_before_sign_in(
                        ctx,
                        args.mailbox_profile.as_deref(),
                        &base_url,
                        tenant.as_deref(),
                        email,
                    )
                    .await?,
                )
            } else {
                None
            };
            client
                .auth()
                .signin(email)
                .await
                .context("requesting a sign-in link")?;
            let token = match mailbox {
                Some((reader, before)) => {
                    let token = dev::new_sign_in_token(&reader, email, before).await?;
                    output::info(&format!(
                        "Took the sign-in link for {email} from the dev mailbox."
                    ));
                    token
                }
                None => {
                    output::info(&format!(
                        "If {email} has an account, a sign-in link was sent to it (valid 15 minutes)."
                    ));
                    let pasted = read_secret("Paste the link or token from the mail: ")?;
                    extract_token(&pasted)
                        .ok_or_else(|| exit::usage("could not find a token in the pasted text"))?
                }
            };
            let login = client
                .auth()
                .verify_magic_link(&token)
                .await
                .map_err(|e| match e.code() {
                    Some("invalid_or_expired_token") => exit::fail(
                        Code::Auth,
                        "the sign-in link is invalid, expired or already used; run the command again",
                    ),
                    _ => anyhow::Error::new(e).context("verifying the sign-in link"),
                })?;
            let session = match &login.session {
                Credentials::Session(s) => s.expose().to_string(),
                _ => {
                    return Err(exit::fail(
                        Code::Error,
                        "the server did not return a session cookie",
                    ))
                }
            };
            (session, CredentialKind::Session, role_text(&login.role))
        }
        None => {
            let key = read_secret("Paste your API key: ")?;
            if key.contains(char::is_whitespace) {
                return Err(exit::usage("an API key contains no whitespace"));
            }
            let client = ctx.build_client(
                &base_url,
                tenant.as_deref(),
                Some(Credentials::api_key(key.clone())),
            )?;
            let intro = client.auth().introspect().await.map_err(|e| {
                if e.is_auth() {
                    exit::fail(
                        Code::Auth,
                        format!("the server rejected this API key ({e})"),
                    )
                } else {
                    anyhow::Error::new(e).context("checking the key with /auth/introspect")
                }
            })?;
            (key, CredentialKind::ApiKey, role_text(&intro.role))
        }
    };

    let store = ctx.secrets();
    let source = store.set(&name, &secret)?;
    cfg.profiles.insert(
        name.clone(),
        Profile {
            base_url: Some(base_url.clone()),
            tenant: tenant.clone(),
            credential: Some(kind),
            role: Some(role.clone()),
            platform_key: existing.platform_key,
        },
    );
    cfg.save(&ctx.config_dir)?;
    output::info(&format!(
        "Logged in to {base_url}{} as {role} (profile `{name}`); credential stored in the {source}.",
        tenant.map(|t| format!(" (tenant {t})")).unwrap_or_default()
    ));
    if Ctx::env_api_key().is_some() {
        output::warn(&format!(
            "{API_KEY_ENV} is set and takes precedence over this profile"
        ));
    }
    Ok(())
}

/// `auth login --platform`: reads the \[EXT\] platform key (stdin or a hidden prompt),
/// checks it with `GET /platform/tenants?limit=1`, and stores it as the profile's platform
/// secret (keyring, else the 0600 file), beside — never instead of — its credential.
async fn login_platform(ctx: &Ctx) -> Result<()> {
    let name = ctx.global.profile.clone();
    let mut cfg = ctx.config()?;
    let mut profile = cfg.profile(&name).cloned().unwrap_or_default();
    let base_url = ctx
        .global
        .base_url
        .clone()
        .or(profile.base_url.clone())
        .ok_or_else(|| {
            exit::usage("no base URL: pass --base-url URL (or set OPENPARTNER_BASE_URL)")
        })?;
    let key = read_secret("Paste the platform key: ")?;
    if key.contains(char::is_whitespace) {
        return Err(exit::usage("a platform key contains no whitespace"));
    }
    let client = ctx.build_client(&base_url, None, Some(Credentials::api_key(key.clone())))?;
    crate::cmd::platform::check_key(&client).await?;
    let source = ctx
        .secrets()
        .set(&crate::context::platform_secret_name(&name), &key)?;
    profile.base_url = Some(base_url.clone());
    profile.platform_key = true;
    cfg.profiles.insert(name.clone(), profile);
    cfg.save(&ctx.config_dir)?;
    output::info(&format!(
        "Platform key for {base_url} stored for profile `{name}` in the {source}; `openpartner platform …` uses it."
    ));
    if Ctx::env_platform_key().is_some() {
        output::warn(&format!(
            "{} is set and takes precedence over this profile",
            crate::context::PLATFORM_KEY_ENV
        ));
    }
    Ok(())
}

async fn status(ctx: &Ctx) -> Result<()> {
    let target = ctx.target(true)?;
    let Some((creds, source)) = target.credentials else {
        return Err(exit::fail(Code::Auth, "not logged in"));
    };
    let kind = match &creds {
        Credentials::Session(_) => "session",
        _ => "api_key",
    };
    let client = ctx.build_client(&target.base_url, target.tenant.as_deref(), Some(creds))?;
    let intro = client.auth().introspect().await.map_err(|e| {
        if e.is_auth() {
            exit::fail(
                Code::Auth,
                format!("the stored credential is not accepted by the server ({e}); run `openpartner auth login`"),
            )
        } else {
            anyhow::Error::new(e).context("calling /auth/introspect")
        }
    })?;
    let source_kind = match &source {
        Source::Env | Source::PlatformEnv => "env",
        Source::Stdin => "stdin",
        Source::Keyring => "keyring",
        Source::File(_) => "file",
    };
    let profile = if matches!(source, Source::Env) {
        Value::Null
    } else {
        Value::String(ctx.global.profile.clone())
    };
    let value = json!({
        "profile": profile,
        "baseUrl": target.base_url,
        "tenant": target.tenant,
        "credential": kind,
        "source": source_kind,
        "sourceDetail": source.to_string(),
        "role": role_text(&intro.role),
        "unrestricted": intro.unrestricted,
        "scopes": intro.scopes,
        "partnerId": intro.partner_id,
    });
    match ctx.format() {
        Format::Table => {
            let lines = [
                (
                    "Profile",
                    value["profile"]
                        .as_str()
                        .unwrap_or("(none: environment)")
                        .to_string(),
                ),
                ("Base URL", target.base_url.clone()),
                (
                    "Tenant",
                    value["tenant"].as_str().unwrap_or("(none)").to_string(),
                ),
                (
                    "Credential",
                    format!("{} from the {}", kind.replace('_', " "), source),
                ),
                (
                    "Role",
                    format!(
                        "{}{}",
                        value["role"].as_str().unwrap_or("?"),
                        if intro.unrestricted {
                            " (unrestricted)"
                        } else {
                            ""
                        }
                    ),
                ),
                (
                    "Scopes",
                    if intro.scopes.is_empty() {
                        "-".into()
                    } else {
                        intro.scopes.join(", ")
                    },
                ),
                ("Partner", output::cell_text(&value["partnerId"])),
            ];
            let mut out = output::stdout();
            for (k, v) in lines {
                if k == "Partner" && v.is_empty() {
                    continue;
                }
                use std::io::Write;
                writeln!(out, "{k:<11} {v}")?;
            }
            use std::io::Write;
            out.flush()?;
            Ok(())
        }
        f => output::print_object(f, Vec::new(), &value, output::stdout()),
    }
}

async fn logout(ctx: &Ctx) -> Result<()> {
    let name = ctx.global.profile.clone();
    let mut cfg = ctx.config()?;
    let profile = cfg.profile(&name).cloned().unwrap_or_default();
    let store = ctx.secrets();
    if profile.credential == Some(CredentialKind::Session) {
        if let (Some(base_url), Ok(Some((secret, _)))) = (&profile.base_url, store.get(&name)) {
            let signed_out = match ctx.build_client(
                base_url,
                profile.tenant.as_deref(),
                Some(Credentials::session(secret)),
            ) {
                Ok(client) => client.auth().signout().await.map_err(anyhow::Error::new),
                Err(e) => Err(e),
            };
            if let Err(e) = signed_out {
                output::warn(&format!(
                    "could not revoke the session on the server: {}",
                    exit::one_line(&e)
                ));
            }
        }
    }
    let mut deleted = store.delete(&name)?;
    if profile.platform_key {
        deleted |= store.delete(&crate::context::platform_secret_name(&name))?;
    }
    if let Some(p) = cfg.profiles.get_mut(&name) {
        p.credential = None;
        p.role = None;
        p.platform_key = false;
        cfg.save(&ctx.config_dir)?;
    }
    if deleted || profile.credential.is_some() || profile.platform_key {
        output::info(&format!("Logged out of profile `{name}`."));
    } else {
        output::info(&format!("Profile `{name}` was not logged in."));
    }
    if Ctx::env_api_key().is_some() {
        output::warn(&format!(
            "{API_KEY_ENV} is still set in your environment and will keep being used"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_from_urls_and_bare_text() {
        let t = "opml_0123456789abcdef";
        assert_eq!(extract_token(t).as_deref(), Some(t));
        assert_eq!(
            extract_token(&format!("http://x/t/acme/auth/magic?token={t}&next=/")).as_deref(),
            Some(t)
        );
        assert_eq!(
            extract_token(&format!("  <http://x/auth/magic?token={t}#frag>  ")).as_deref(),
            Some(t)
        );
        assert_eq!(extract_token("two words"), None);
        assert_eq!(extract_token("http://x/?token="), None);
    }
}
