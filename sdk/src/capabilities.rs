//! Server capabilities learned from the `OpenPartner-Extensions` response header (API.md §5, §6).

use std::fmt;
use std::str::FromStr;

/// One optional extension a server may advertise. Wire names are kebab-case; names this SDK
/// does not know are kept as [`Extension::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Extension {
    /// `rate-limit-headers`: per-credential limits, `X-RateLimit-*` and `Retry-After`.
    RateLimitHeaders,
    /// `idempotency`: `Idempotency-Key` on authenticated POSTs is honoured (safe resends).
    Idempotency,
    /// `external-id`: partners carry an `externalId`.
    ExternalId,
    /// `ip-allowlist`: API keys accept `allowedIps`.
    IpAllowlist,
    /// `commission-filters`: `GET /commissions` accepts cursor, since, until, programId, partnerId.
    CommissionFilters,
    /// `login-links`: `POST /partners/:id/login-links`.
    LoginLinks,
    /// `webhook-retries`: automatic webhook delivery retries.
    WebhookRetries,
    /// `platform`: tenant provisioning under `/platform/*`.
    Platform,
    /// An extension this SDK version does not know.
    Unknown(String),
}

impl Extension {
    /// The wire name, e.g. `ip-allowlist`.
    pub fn as_str(&self) -> &str {
        match self {
            Extension::RateLimitHeaders => "rate-limit-headers",
            Extension::Idempotency => "idempotency",
            Extension::ExternalId => "external-id",
            Extension::IpAllowlist => "ip-allowlist",
            Extension::CommissionFilters => "commission-filters",
            Extension::LoginLinks => "login-links",
            Extension::WebhookRetries => "webhook-retries",
            Extension::Platform => "platform",
            Extension::Unknown(s) => s,
        }
    }
}

impl FromStr for Extension {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "rate-limit-headers" => Extension::RateLimitHeaders,
            "idempotency" => Extension::Idempotency,
            "external-id" => Extension::ExternalId,
            "ip-allowlist" => Extension::IpAllowlist,
            "commission-filters" => Extension::CommissionFilters,
            "login-links" => Extension::LoginLinks,
            "webhook-retries" => Extension::WebhookRetries,
            "platform" => Extension::Platform,
            other => Extension::Unknown(other.to_string()),
        })
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The set of extensions a server advertised. `known()` is `false` until the client has seen
/// a response from the server; until then every extension counts as absent (API.md §6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    known: bool,
    extensions: Vec<Extension>,
}

impl Capabilities {
    /// Parses an `OpenPartner-Extensions` header value (comma-separated names; blanks ignored).
    pub fn from_header(value: &str) -> Self {
        let mut extensions: Vec<Extension> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse().ok())
            .collect();
        extensions.sort();
        extensions.dedup();
        Capabilities {
            known: true,
            extensions,
        }
    }

    /// Capabilities of a server known to advertise no extension (base API).
    pub fn none_known() -> Self {
        Capabilities {
            known: true,
            extensions: Vec::new(),
        }
    }

    /// Whether the server advertised `ext`.
    pub fn has(&self, ext: Extension) -> bool {
        self.extensions.contains(&ext)
    }

    /// Whether a response from the server has been seen (else everything is assumed absent).
    pub fn known(&self) -> bool {
        self.known
    }

    /// The advertised extensions, sorted.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header() {
        let c = Capabilities::from_header(
            "rate-limit-headers, idempotency,IP-Allowlist,, future-thing",
        );
        assert!(c.known());
        assert!(c.has(Extension::Idempotency));
        assert!(c.has(Extension::IpAllowlist));
        assert!(c.has(Extension::RateLimitHeaders));
        assert!(!c.has(Extension::ExternalId));
        assert!(c.has(Extension::Unknown("future-thing".into())));
        assert!(!Capabilities::default().known());
        assert!(!Capabilities::default().has(Extension::Idempotency));
    }
}
