//! Profiles: the non-secret part of the CLI's configuration, in `config.toml`.
//!
//! Location: `$OPENPARTNER_CONFIG_DIR` when set (tests use a temp dir), else
//! `dirs::config_dir()/openpartner` (e.g. `~/.config/openpartner` on Linux). The file holds
//! one table per profile:
//!
//! ```toml
//! [profiles.default]
//! base_url = "http://127.0.0.1:4100"
//! tenant = "acme"            # optional
//! credential = "api_key"     # or "session"; absent when logged out
//! role = "admin"             # informational, from /auth/introspect at login
//! ```
//!
//! Secrets never go in this file: they live in the OS keyring or, as a fallback, in the
//! 0600 `credentials.toml` beside it (see [`crate::secrets`]).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::exit;

/// Environment variable overriding the configuration directory.
pub const CONFIG_DIR_ENV: &str = "OPENPARTNER_CONFIG_DIR";

/// What kind of secret a profile stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// An API key (`op_…`), sent as `Authorization: Bearer`.
    ApiKey,
    /// A session token (`ops_…`) from the magic-link flow, sent as `Cookie: op_session=`.
    Session,
}

/// One profile's non-secret settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Base URL of the API (opaque; the SDK appends routes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Tenant slug for multi-tenant servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Kind of the stored secret; `None` when logged out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialKind>,
    /// Role reported by `/auth/introspect` at login (informational only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// \[EXT\] `true` when `auth login --platform` stored a platform key for this profile
    /// (kept apart from its credential, see [`crate::context::platform_secret_name`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub platform_key: bool,
}

/// The whole `config.toml`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFile {
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// The configuration directory (not created).
pub fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::config_dir()
        .map(|d| d.join("openpartner"))
        .ok_or_else(|| {
            exit::usage(format!(
                "cannot determine the configuration directory; set {CONFIG_DIR_ENV}"
            ))
        })
}

/// Checks a profile name: 1–64 chars of `[A-Za-z0-9_-]` (it becomes a TOML key and a
/// keyring user name).
pub fn validate_profile_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(exit::usage(format!(
            "invalid profile name {name:?}: use 1-64 letters, digits, '-' or '_'"
        )))
    }
}

impl ConfigFile {
    /// Path of `config.toml` inside `dir`.
    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join("config.toml")
    }

    /// Loads `config.toml` from `dir`; a missing file is an empty configuration.
    pub fn load(dir: &Path) -> Result<ConfigFile> {
        let path = Self::path_in(dir);
        match fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                exit::usage(format!(
                    "invalid configuration file {}: {}",
                    path.display(),
                    e.message()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes `config.toml` into `dir` atomically (temp file + rename), creating `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = toml::to_string_pretty(self).context("serialising the configuration")?;
        write_atomic(&Self::path_in(dir), text.as_bytes(), false)
    }

    /// The named profile, if configured.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }
}

/// Writes `bytes` to `path` through a temp file in the same directory and a rename, so a
/// crash never leaves a half-written file. With `private`, the file is created with mode
/// 0600 on Unix (before any byte is written) and the directory with 0700.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| anyhow::anyhow!("{} has no parent directory", path.display()))?;
    create_dir(dir, private)?;
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("config");
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(if private { 0o600 } else { 0o644 });
        }
        let mut file = opts
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        #[cfg(unix)]
        if private {
            // `mode` is filtered by the umask and ignored for an existing file: enforce it.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .with_context(|| format!("setting permissions on {}", tmp.display()))?;
        }
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("writing {}", tmp.display()))?;
    }
    fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

fn create_dir(dir: &Path, private: bool) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(if private { 0o700 } else { 0o755 });
    }
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_profiles() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = ConfigFile::default();
        cfg.profiles.insert(
            "default".into(),
            Profile {
                base_url: Some("http://127.0.0.1:4100".into()),
                tenant: Some("acme".into()),
                credential: Some(CredentialKind::Session),
                role: Some("admin".into()),
                platform_key: true,
            },
        );
        cfg.save(dir.path()).expect("save");
        let text = fs::read_to_string(ConfigFile::path_in(dir.path())).expect("read");
        assert!(text.contains("credential = \"session\""), "{text}");
        assert_eq!(ConfigFile::load(dir.path()).expect("load"), cfg);
    }

    #[test]
    fn missing_file_is_empty_and_bad_file_is_usage_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(ConfigFile::load(dir.path())
            .expect("load")
            .profiles
            .is_empty());
        fs::write(ConfigFile::path_in(dir.path()), "profiles = 3").expect("write");
        let err = ConfigFile::load(dir.path()).expect_err("must fail");
        assert_eq!(exit::code_for(&err), exit::Code::Usage);
    }

    #[test]
    fn profile_names() {
        assert!(validate_profile_name("work-2").is_ok());
        assert!(validate_profile_name("").is_err());
        assert!(validate_profile_name("a b").is_err());
        assert!(validate_profile_name("a.b").is_err());
    }
}
