//! Small shared helpers: ids, timestamps, secrets and hashing.

use chrono::{DateTime, SecondsFormat, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh bare ULID (26 chars), the id format of every row.
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

/// Formats a timestamp the way the API and the database store it:
/// `%Y-%m-%dT%H:%M:%S%.3fZ` (UTC, milliseconds), which sorts lexicographically.
pub fn fmt_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp (any offset) into UTC.
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Lowercase hex SHA-256 of `s`.
pub fn sha256_hex(s: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(s.as_ref()))
}

/// Constant-time string equality (length differences leak only the length).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A new API key: `op_` + 48 lowercase hex (24 random bytes).
pub fn new_api_key() -> String {
    format!("op_{}", random_hex(24))
}

/// A new session token: `ops_` + 48 hex.
pub fn new_session_token() -> String {
    format!("ops_{}", random_hex(24))
}

/// A new magic-link token: `opml_` + 48 hex (192 bits).
pub fn new_magic_token() -> String {
    format!("opml_{}", random_hex(24))
}

/// The stored lookup prefix of an API key: its first 8 characters.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(8).collect()
}

/// A loose but practical email check (`local@domain.tld`, no spaces, ≤ 254 chars).
pub fn is_valid_email(s: &str) -> bool {
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}
