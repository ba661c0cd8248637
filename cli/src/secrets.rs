//! Secret storage for profiles: the OS keyring, with a 0600 file fallback.
//!
//! Modelled on the Stripe CLI's keyring wrapper:
//! - every keyring call runs on its own thread and is abandoned after [`KEYRING_TIMEOUT`]
//!   (a locked or absent Secret Service can otherwise block forever);
//! - the keyring is skipped entirely when `CI` is set, when `OPENPARTNER_NO_KEYRING=1`, or
//!   (Linux/BSD) when no D-Bus session bus is reachable;
//! - when the keyring is skipped or fails, secrets go to `credentials.toml` beside
//!   `config.toml`, created with mode 0600, and the user is told so on stderr when the
//!   secret is stored there (and when it is read from there because a keyring call
//!   failed; a file looser than 0600 is warned about on every read).
//!
//! Keyring entries use service [`KEYRING_SERVICE`] and the profile name as the user.
//! `OPENPARTNER_API_KEY` is handled by the caller and never reaches this module.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::write_atomic;
use crate::output::note;

/// Keyring service name.
pub const KEYRING_SERVICE: &str = "openpartner-cli";
/// Upper bound for any single keyring call.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);
/// Name of the fallback file inside the configuration directory.
pub const CREDENTIALS_FILE: &str = "credentials.toml";

/// Where a credential came from (reported by `auth status`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `OPENPARTNER_API_KEY`.
    Env,
    /// \[EXT\] `OPENPARTNER_PLATFORM_KEY` (`platform …` commands).
    PlatformEnv,
    /// Standard input (`--platform-key-stdin`).
    Stdin,
    /// The OS keyring.
    Keyring,
    /// The 0600 fallback file at this path.
    File(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Env => f.write_str("environment (OPENPARTNER_API_KEY)"),
            Source::PlatformEnv => f.write_str("environment (OPENPARTNER_PLATFORM_KEY)"),
            Source::Stdin => f.write_str("standard input"),
            Source::Keyring => f.write_str("OS keyring"),
            Source::File(p) => write!(f, "credentials file {}", p.display()),
        }
    }
}

/// The fallback file's shape: `[profiles.<name>] secret = "…"`.
#[derive(Default, Serialize, Deserialize)]
struct CredentialsFile {
    #[serde(default)]
    profiles: BTreeMap<String, FileEntry>,
}

#[derive(Serialize, Deserialize)]
struct FileEntry {
    secret: String,
}

// Never print a secret, even by accident.
impl fmt::Debug for FileEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileEntry { secret: *** }")
    }
}

/// Result of one bounded keyring call.
enum KeyringOutcome<T> {
    Done(T),
    NoEntry,
    Failed(String),
}

/// Secret store for one configuration directory.
pub struct SecretStore {
    dir: PathBuf,
    /// `Some(reason)` when the keyring is not to be used at all.
    skip_reason: Option<String>,
    /// Set once a keyring call failed or timed out: later calls go straight to the file.
    keyring_broken: AtomicBool,
    timeout: Duration,
}

/// Why the keyring must not be used in this environment, if it must not.
pub fn keyring_skip_reason() -> Option<String> {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        return Some("CI is set".into());
    }
    if std::env::var("OPENPARTNER_NO_KEYRING").is_ok_and(|v| v == "1" || v == "true") {
        return Some("OPENPARTNER_NO_KEYRING=1".into());
    }
    #[cfg(all(unix, not(target_os = "macos"), not(target_os = "ios")))]
    {
        let has_bus_env =
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
        let has_bus_socket = std::env::var_os("XDG_RUNTIME_DIR")
            .map(|d| Path::new(&d).join("bus").exists())
            .unwrap_or(false);
        if !has_bus_env && !has_bus_socket {
            return Some("no D-Bus session bus is reachable".into());
        }
    }
    None
}

impl SecretStore {
    /// A store for `dir` that decides from the environment whether to use the keyring.
    pub fn new(dir: &Path) -> SecretStore {
        SecretStore {
            dir: dir.to_path_buf(),
            skip_reason: keyring_skip_reason(),
            keyring_broken: AtomicBool::new(false),
            timeout: KEYRING_TIMEOUT,
        }
    }

    /// Path of the fallback file.
    pub fn file_path(&self) -> PathBuf {
        self.dir.join(CREDENTIALS_FILE)
    }

    fn keyring_usable(&self) -> bool {
        self.skip_reason.is_none() && !self.keyring_broken.load(Ordering::Relaxed)
    }

    fn why_file(&self) -> String {
        self.skip_reason
            .clone()
            .unwrap_or_else(|| "the OS keyring is unavailable".into())
    }

    /// Runs `op` on a fresh thread, waiting at most the timeout.
    fn bounded<T: Send + 'static>(
        &self,
        profile: &str,
        op: impl FnOnce(&keyring::Entry) -> keyring::Result<T> + Send + 'static,
    ) -> KeyringOutcome<T> {
        let (tx, rx) = mpsc::channel();
        let user = profile.to_string();
        let spawned = std::thread::Builder::new()
            .name("keyring".into())
            .spawn(move || {
                let result = keyring::Entry::new(KEYRING_SERVICE, &user).and_then(|e| op(&e));
                let _ = tx.send(result);
            });
        if let Err(e) = spawned {
            return KeyringOutcome::Failed(format!("cannot start keyring thread: {e}"));
        }
        let outcome = match rx.recv_timeout(self.timeout) {
            Ok(Ok(v)) => KeyringOutcome::Done(v),
            Ok(Err(keyring::Error::NoEntry)) => KeyringOutcome::NoEntry,
            // keyring's Display never contains the secret itself.
            Ok(Err(e)) => KeyringOutcome::Failed(e.to_string()),
            Err(_) => {
                KeyringOutcome::Failed(format!("no answer within {} s", self.timeout.as_secs()))
            }
        };
        if matches!(outcome, KeyringOutcome::Failed(_)) {
            self.keyring_broken.store(true, Ordering::Relaxed);
        }
        outcome
    }

    /// The profile's secret and where it came from, or `None` when none is stored.
    pub fn get(&self, profile: &str) -> Result<Option<(String, Source)>> {
        let mut keyring_error = None;
        if self.keyring_usable() {
            match self.bounded(profile, |e| e.get_password()) {
                KeyringOutcome::Done(secret) => return Ok(Some((secret, Source::Keyring))),
                KeyringOutcome::NoEntry => {}
                KeyringOutcome::Failed(e) => keyring_error = Some(e),
            }
        }
        let file = self.load_file()?;
        match file.profiles.get(profile) {
            Some(entry) => {
                let path = self.file_path();
                // Storing in the file is always announced (`set`); reading it again is
                // announced only when the keyring was tried and failed, so that headless
                // and CI use is not nagged on every command.
                if let Some(e) = keyring_error {
                    note(&format!(
                        "using the credential stored in {} (OS keyring failed: {e})",
                        path.display()
                    ));
                }
                warn_if_too_open(&path);
                Ok(Some((entry.secret.clone(), Source::File(path))))
            }
            None => Ok(None),
        }
    }

    /// Stores the profile's secret: in the keyring when usable, else in the 0600 file
    /// (telling the user). Returns where it went.
    pub fn set(&self, profile: &str, secret: &str) -> Result<Source> {
        if self.keyring_usable() {
            let owned = secret.to_string();
            match self.bounded(profile, move |e| e.set_password(&owned)) {
                KeyringOutcome::Done(()) => {
                    // Drop any stale copy from an earlier fallback.
                    self.remove_from_file(profile)?;
                    return Ok(Source::Keyring);
                }
                KeyringOutcome::NoEntry => {}
                KeyringOutcome::Failed(e) => {
                    note(&format!(
                        "the OS keyring could not store the credential: {e}"
                    ));
                }
            }
        }
        let mut file = self.load_file()?;
        file.profiles.insert(
            profile.to_string(),
            FileEntry {
                secret: secret.to_string(),
            },
        );
        self.save_file(&file)?;
        let path = self.file_path();
        note(&format!(
            "credential stored in {} (mode 0600) because {}",
            path.display(),
            self.why_file()
        ));
        Ok(Source::File(path))
    }

    /// Deletes the profile's secret from the keyring (when usable) and from the file.
    /// Returns `true` when something was deleted.
    pub fn delete(&self, profile: &str) -> Result<bool> {
        let mut deleted = false;
        if self.keyring_usable() {
            if let KeyringOutcome::Done(()) = self.bounded(profile, |e| e.delete_credential()) {
                deleted = true;
            }
        }
        deleted |= self.remove_from_file(profile)?;
        Ok(deleted)
    }

    fn remove_from_file(&self, profile: &str) -> Result<bool> {
        if !self.file_path().exists() {
            return Ok(false);
        }
        let mut file = self.load_file()?;
        if file.profiles.remove(profile).is_some() {
            self.save_file(&file)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn load_file(&self) -> Result<CredentialsFile> {
        let path = self.file_path();
        match fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                // toml's message may quote the offending line: do not echo it (secret).
                crate::exit::usage(format!(
                    "{} is not valid ({}); fix or delete it",
                    path.display(),
                    e.span()
                        .map(|s| format!("error at byte {}", s.start))
                        .unwrap_or_else(|| "parse error".into())
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CredentialsFile::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn save_file(&self, file: &CredentialsFile) -> Result<()> {
        let text = toml::to_string_pretty(file).context("serialising credentials")?;
        write_atomic(&self.file_path(), text.as_bytes(), true)
    }
}

#[cfg(unix)]
fn warn_if_too_open(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            note(&format!(
                "{} is readable by other users (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
}

#[cfg(not(unix))]
fn warn_if_too_open(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_store(dir: &Path) -> SecretStore {
        SecretStore {
            dir: dir.to_path_buf(),
            skip_reason: Some("test".into()),
            keyring_broken: AtomicBool::new(false),
            timeout: KEYRING_TIMEOUT,
        }
    }

    #[test]
    fn file_fallback_round_trip_with_private_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = file_store(dir.path());
        assert!(store.get("default").expect("get").is_none());
        let src = store.set("default", "op_secretsecretsecret").expect("set");
        assert_eq!(src, Source::File(dir.path().join(CREDENTIALS_FILE)));
        store.set("other", "ops_x").expect("set other");
        let (secret, source) = store.get("default").expect("get").expect("present");
        assert_eq!(secret, "op_secretsecretsecret");
        assert!(matches!(source, Source::File(_)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.file_path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(store.delete("default").expect("delete"));
        assert!(store.get("default").expect("get").is_none());
        assert_eq!(
            store.get("other").expect("get").map(|(s, _)| s),
            Some("ops_x".to_string())
        );
        assert!(!store.delete("default").expect("delete again"));
    }

    #[test]
    fn debug_of_entry_is_masked() {
        let e = FileEntry {
            secret: "op_abc".into(),
        };
        assert!(!format!("{e:?}").contains("op_abc"));
    }
}
