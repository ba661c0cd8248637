//! Secrets and credentials.
//!
//! [`Secret`] wraps every sensitive string the SDK handles (API keys `op_…`, session tokens
//! `ops_…`, magic-link tokens `opml_…`, webhook secrets `whsec_…`). Its `Debug` and `Display`
//! never print the plaintext; [`Secret::expose`] is the single, greppable way to read it.
//!
//! [`Credentials`] says how the client authenticates: an API key — whatever its kind
//! (admin, scoped, partner, platform) — is sent as `Authorization: Bearer <key>`, a session as
//! `Cookie: op_session=<token>` (API.md §2). The SDK does not label a key with a kind it
//! cannot know: the server decides what a key may do, and `client.auth().introspect()` says
//! what it is.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string (API key, session token, magic-link token, webhook secret).
///
/// `Debug`/`Display` show at most the first 6 characters followed by `…` (e.g. `op_1a2…`), or
/// `***` for short values, so a key's kind stays recognisable in logs without leaking it.
/// `Serialize`/`Deserialize` are transparent (the plaintext string): serialising a secret is an
/// explicit act by the caller (e.g. printing a freshly created key once).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a plaintext secret.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// Returns the plaintext. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The masked form used by `Debug` and `Display` (`op_1a2…` or `***`).
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Masks a secret string: first 6 characters plus `…` when the value is longer than 12
/// characters, else `***`.
pub(crate) fn mask(s: &str) -> String {
    if s.chars().count() > 12 {
        let head: String = s.chars().take(6).collect();
        format!("{head}…")
    } else {
        "***".to_string()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl From<&String> for Secret {
    fn from(s: &String) -> Self {
        Secret(s.clone())
    }
}

/// How the client authenticates (API.md §2). `Debug` masks the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// An API key of any kind (admin, scoped, partner, platform), sent as
    /// `Authorization: Bearer <key>`.
    ApiKey(Secret),
    /// A session token `ops_…`, sent as `Cookie: op_session=<token>`.
    Session(Secret),
}

impl Credentials {
    /// An API key (Bearer), whatever its kind: the server decides what it may do
    /// (`GET /auth/introspect` tells).
    pub fn api_key(k: impl Into<Secret>) -> Self {
        Credentials::ApiKey(k.into())
    }
    /// A session token (cookie `op_session`).
    pub fn session(token: impl Into<Secret>) -> Self {
        Credentials::Session(token.into())
    }

    /// The secret inside, whatever the kind.
    pub fn secret(&self) -> &Secret {
        match self {
            Credentials::ApiKey(s) | Credentials::Session(s) => s,
        }
    }

    /// `true` for the session (cookie) credential.
    pub fn is_session(&self) -> bool {
        matches!(self, Credentials::Session(_))
    }

    /// The header (name, value) this credential is sent as.
    pub(crate) fn header(&self) -> (http::HeaderName, String) {
        match self {
            Credentials::Session(s) => (http::header::COOKIE, format!("op_session={}", s.expose())),
            other => (
                http::header::AUTHORIZATION,
                format!("Bearer {}", other.secret().expose()),
            ),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, s) = match self {
            Credentials::ApiKey(s) => ("ApiKey", s),
            Credentials::Session(s) => ("Session", s),
        };
        write!(f, "{kind}({})", s.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_mask() {
        let key = "op_0123456789abcdef0123456789abcdef0123456789abcdef";
        let s = Secret::new(key);
        assert_eq!(format!("{s:?}"), "Secret(op_012…)");
        assert_eq!(s.to_string(), "op_012…");
        assert_eq!(s.expose(), key);
        let c = Credentials::api_key(key);
        let d = format!("{c:?}");
        assert!(!d.contains("3456789abcdef"), "{d}");
        assert_eq!(d, "ApiKey(op_012…)");
        assert_eq!(format!("{:?}", Secret::new("short")), "Secret(***)");
    }

    #[test]
    fn header_forms() {
        let (n, v) = Credentials::session("ops_abc").header();
        assert_eq!(n, http::header::COOKIE);
        assert_eq!(v, "op_session=ops_abc");
        let (n, v) = Credentials::api_key("op_x").header();
        assert_eq!(n, http::header::AUTHORIZATION);
        assert_eq!(v, "Bearer op_x");
    }
}
