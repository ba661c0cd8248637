//! Small shared helpers: ids, timestamps, secrets and hashing.

use chrono::{DateTime, SecondsFormat, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh bare ULID (26 chars), the id format of every row. Ids are monotonic within
/// the process (a shared `ulid::Generator`), so rows created in the same millisecond
/// still sort by creation under the `(createdAt desc, id desc)` keyset order.
pub fn new_id() -> String {
    static GEN: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    let mut g = GEN.lock().unwrap_or_else(|e| e.into_inner());
    g.generate()
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_the_documented_shapes() {
        let k = new_api_key();
        assert!(k.starts_with("op_") && k.len() == 51);
        assert!(k[3..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(key_prefix(&k).len(), 8);
        assert!(new_session_token().starts_with("ops_") && new_session_token().len() == 52);
        assert!(new_magic_token().starts_with("opml_") && new_magic_token().len() == 53);
        assert_ne!(new_api_key(), new_api_key());
    }

    #[test]
    fn ids_are_monotonic() {
        let ids: Vec<String> = (0..1000).map(|_| new_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids.iter().all(|i| i.len() == 26));
    }

    #[test]
    fn timestamps_sort_and_parse() {
        let t = chrono::DateTime::from_timestamp_millis(1_795_000_000_123).expect("ts");
        let s = fmt_ts(t);
        assert_eq!(s, "2026-11-18T11:06:40.123Z");
        assert_eq!(parse_ts(&s), Some(t));
        assert_eq!(parse_ts("2026-11-18T12:06:40.123+01:00"), Some(t));
        assert!(parse_ts("nope").is_none());
    }

    #[test]
    fn email_and_ct_eq() {
        for ok in ["a@b.co", "first.last+tag@sub.example.com"] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@.co", "a@b.co.", "a b@c.co", "a@b..co",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
    }
}
