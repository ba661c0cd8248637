//! Secrets and credentials.
//!
//! [`Secret`] wraps every sensitive string the SDK handles (API keys `op_…`, session tokens
//! `ops_…`, magic-link tokens `opml_…`, webhook secrets `whsec_…`). Its `Debug` and `Display`
//! never print the plaintext; [`Secret::expose`] is the single, greppable way to read it.
//!
//! [`Credentials`] says how the client authenticates: every API key kind is sent as
//! `Authorization: Bearer <key>`, a session as `Cookie: op_session=<token>` (API.md §2).

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
    /// An admin API key (DB or bootstrap `ADMIN_API_KEY`), sent as `Authorization: Bearer`.
    AdminKey(Secret),
    /// A scoped API key, sent as `Authorization: Bearer`.
    ScopedKey(Secret),
    /// A partner API key, sent as `Authorization: Bearer`.
    PartnerKey(Secret),
    /// A session token `ops_…`, sent as `Cookie: op_session=<token>`.
    Session(Secret),
}

impl Credentials {
    /// An admin key (Bearer).
    pub fn admin_key(k: impl Into<Secret>) -> Self {
        Credentials::AdminKey(k.into())
    }
    /// A scoped key (Bearer).
    pub fn scoped_key(k: impl Into<Secret>) -> Self {
        Credentials::ScopedKey(k.into())
    }
    /// A partner key (Bearer).
    pub fn partner_key(k: impl Into<Secret>) -> Self {
        Credentials::PartnerKey(k.into())
    }
    /// A session token (cookie `op_session`).
    pub fn session(token: impl Into<Secret>) -> Self {
        Credentials::Session(token.into())
    }
    /// Any API key whose kind is unknown to the caller: sent as Bearer, exactly like
    /// [`Credentials::AdminKey`] (the server decides what the key may do).
    pub fn api_key(k: impl Into<Secret>) -> Self {
        Credentials::AdminKey(k.into())
    }

    /// The secret inside, whatever the kind.
    pub fn secret(&self) -> &Secret {
        match self {
            Credentials::AdminKey(s)
            | Credentials::ScopedKey(s)
            | Credentials::PartnerKey(s)
            | Credentials::Session(s) => s,
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
            Credentials::AdminKey(s) => ("AdminKey", s),
            Credentials::ScopedKey(s) => ("ScopedKey", s),
            Credentials::PartnerKey(s) => ("PartnerKey", s),
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
        let c = Credentials::admin_key(key);
        let d = format!("{c:?}");
        assert!(!d.contains("3456789abcdef"), "{d}");
        assert_eq!(d, "AdminKey(op_012…)");
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
