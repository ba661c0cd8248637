//! Resolving where to connect and with which credential, and building the SDK client.
//!
//! Precedence (DESIGN.md §3):
//! 1. `OPENPARTNER_API_KEY`: used as a Bearer key; the base URL and tenant then come ONLY
//!    from `--base-url`/`OPENPARTNER_BASE_URL` and `--tenant`/`OPENPARTNER_TENANT`, never
//!    from a profile, and the keyring is never touched. (Keeping the environment
//!    self-contained means a key exported for one server is never sent to the server a
//!    profile happens to point at.)
//! 2. The profile (`--profile`, `OPENPARTNER_PROFILE`, default `default`): base URL and
//!    tenant from `--base-url`/`--tenant` (or their env vars) else from `config.toml`; the
//!    secret from the OS keyring, else from the 0600 `credentials.toml`.
//!
//! \[EXT\] `platform …` commands use the reseller's platform key instead, never the
//! credential above ([`Ctx::platform_target`]): `--platform-key-stdin`, else
//! `OPENPARTNER_PLATFORM_KEY` (base URL then only from `--base-url`/`OPENPARTNER_BASE_URL`,
//! as for `OPENPARTNER_API_KEY`), else the profile's platform secret stored by
//! `auth login --platform`. There is no `--platform-key` flag: argv is visible to every
//! user of the machine and lands in shell history.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use openpartner::{Client, Credentials};

use crate::cli::GlobalArgs;
use crate::config::{self, ConfigFile, CredentialKind};
use crate::exit::{self, Code};
use crate::output::Format;
use crate::secrets::{SecretStore, Source};

/// Environment variable holding an API key that overrides every profile.
pub const API_KEY_ENV: &str = "OPENPARTNER_API_KEY";

/// Environment variable holding the \[EXT\] platform key (`platform …` commands only).
pub const PLATFORM_KEY_ENV: &str = "OPENPARTNER_PLATFORM_KEY";

/// The secret-store entry of a profile's platform key: `<profile>/platform` (profile
/// names never contain `/`, so it cannot clash with a profile's own credential).
pub fn platform_secret_name(profile: &str) -> String {
    format!("{profile}/platform")
}

/// Where to connect and how to authenticate.
pub struct Target {
    /// Base URL.
    pub base_url: String,
    /// Tenant slug.
    pub tenant: Option<String>,
    /// Credentials, with where they came from.
    pub credentials: Option<(Credentials, Source)>,
}

/// Per-invocation context shared by every command.
pub struct Ctx {
    /// Global flags.
    pub global: GlobalArgs,
    /// Configuration directory.
    pub config_dir: PathBuf,
}

impl Ctx {
    /// A context for the parsed flags.
    pub fn new(global: GlobalArgs) -> Result<Ctx> {
        config::validate_profile_name(&global.profile)?;
        let config_dir = config::config_dir()?;
        Ok(Ctx { global, config_dir })
    }

    /// The output format for this invocation.
    pub fn format(&self) -> Format {
        Format::resolve(self.global.output)
    }

    /// The secret store for the configuration directory.
    pub fn secrets(&self) -> SecretStore {
        SecretStore::new(&self.config_dir)
    }

    /// Loads `config.toml`.
    pub fn config(&self) -> Result<ConfigFile> {
        ConfigFile::load(&self.config_dir)
    }

    /// The API key from the environment, if set (and non-empty).
    pub fn env_api_key() -> Option<String> {
        std::env::var(API_KEY_ENV)
            .ok()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
    }

    /// The platform key from the environment, if set (and non-empty).
    pub fn env_platform_key() -> Option<String> {
        std::env::var(PLATFORM_KEY_ENV)
            .ok()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
    }

    /// \[EXT\] Base URL and platform key for `platform …` (see the module docs); the
    /// result has no tenant (the routes live outside every tenant; a profile's tenant is
    /// ignored). `from_stdin` is the key read for `--platform-key-stdin`. Errors: no base
    /// URL (exit 2); no platform key anywhere (exit 4); the secret store's errors.
    pub fn platform_target(&self, from_stdin: Option<String>) -> Result<Target> {
        let name = &self.global.profile;
        let given = match (from_stdin, Self::env_platform_key()) {
            (Some(k), _) => Some((k, Source::Stdin)),
            (None, Some(k)) => Some((k, Source::PlatformEnv)),
            (None, None) => None,
        };
        if let Some((key, Source::PlatformEnv)) = given {
            let base_url = self.global.base_url.clone().ok_or_else(|| {
                exit::usage(format!(
                    "{PLATFORM_KEY_ENV} is set but no base URL: set OPENPARTNER_BASE_URL or pass --base-url"
                ))
            })?;
            return Ok(Target {
                base_url,
                tenant: None,
                credentials: Some((Credentials::api_key(key), Source::PlatformEnv)),
            });
        }
        let profile = self.config()?.profile(name).cloned().unwrap_or_default();
        let base_url = self
            .global
            .base_url
            .clone()
            .or(profile.base_url.clone())
            .ok_or_else(|| {
                exit::usage(format!(
                    "no base URL for profile `{name}`: pass --base-url URL (or set OPENPARTNER_BASE_URL)"
                ))
            })?;
        let credentials = match given {
            Some((k, source)) => Some((Credentials::api_key(k), source)),
            None if profile.platform_key => self
                .secrets()
                .get(&platform_secret_name(name))?
                .map(|(k, src)| (Credentials::api_key(k), src)),
            None => None,
        };
        if credentials.is_none() {
            return Err(exit::fail(
                Code::Auth,
                format!(
                    "no platform key (profile `{name}`): set {PLATFORM_KEY_ENV}, pipe it to \
                     --platform-key-stdin, or store it with `openpartner auth login --platform`"
                ),
            ));
        }
        Ok(Target {
            base_url,
            tenant: None,
            credentials,
        })
    }

    /// Resolves base URL, tenant and credentials (see the module docs). With
    /// `need_credentials`, a missing credential is an error (exit 4).
    pub fn target(&self, need_credentials: bool) -> Result<Target> {
        if let Some(key) = Self::env_api_key() {
            let base_url = self.global.base_url.clone().ok_or_else(|| {
                exit::usage(format!(
                    "{API_KEY_ENV} is set but no base URL: set OPENPARTNER_BASE_URL or pass --base-url"
                ))
            })?;
            return Ok(Target {
                base_url,
                tenant: self.global.tenant.clone(),
                credentials: Some((Credentials::api_key(key), Source::Env)),
            });
        }
        let name = &self.global.profile;
        let cfg = self.config()?;
        let profile = cfg.profile(name).cloned().unwrap_or_default();
        let base_url = self
            .global
            .base_url
            .clone()
            .or(profile.base_url.clone())
            .ok_or_else(|| {
                exit::usage(format!(
                    "no base URL for profile `{name}`: run `openpartner auth login --base-url URL`, \
                     or set OPENPARTNER_BASE_URL and {API_KEY_ENV}"
                ))
            })?;
        let tenant = self.global.tenant.clone().or(profile.tenant.clone());
        let credentials = match profile.credential {
            Some(kind) => match self.secrets().get(name)? {
                Some((secret, source)) => {
                    let creds = match kind {
                        CredentialKind::ApiKey => Credentials::api_key(secret),
                        CredentialKind::Session => Credentials::session(secret),
                    };
                    Some((creds, source))
                }
                None => None,
            },
            None => None,
        };
        if credentials.is_none() && need_credentials {
            return Err(exit::fail(
                Code::Auth,
                format!(
                    "not logged in (profile `{name}`): run `openpartner auth login`, or set {API_KEY_ENV}"
                ),
            ));
        }
        Ok(Target {
            base_url,
            tenant,
            credentials,
        })
    }

    /// Builds an SDK client for `base_url`/`tenant` with optional credentials.
    pub fn build_client(
        &self,
        base_url: &str,
        tenant: Option<&str>,
        credentials: Option<Credentials>,
    ) -> Result<Client> {
        let mut builder = Client::builder()
            .base_url(base_url)
            .timeout(Duration::from_secs(self.global.timeout))
            .user_agent(format!("openpartner-cli/{}", env!("CARGO_PKG_VERSION")));
        if let Some(t) = tenant {
            builder = builder.tenant(t);
        }
        if let Some(c) = credentials {
            builder = builder.credentials(c);
        }
        builder.build().map_err(|e| exit::usage(e.to_string()))
    }

    /// A client with the resolved credentials (error exit 4 when there are none).
    pub fn client(&self) -> Result<(Client, Source)> {
        let target = self.target(true)?;
        let (creds, source) = target
            .credentials
            .ok_or_else(|| exit::fail(Code::Auth, "no credential"))?;
        let client = self.build_client(&target.base_url, target.tenant.as_deref(), Some(creds))?;
        Ok((client, source))
    }
}
