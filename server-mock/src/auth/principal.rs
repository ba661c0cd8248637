//! Who is calling: [`Principal`], the request's [`Auth`] (extension and extractor), the
//! [`Scope`]s routes grant and the client address [`ClientIp`].

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;

/// The scopes that routes grant (API.md §2). Scope strings themselves are free-form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `events:write`
    EventsWrite,
    /// `partners:write`
    PartnersWrite,
    /// `partners:read`
    PartnersRead,
    /// `links:write`
    LinksWrite,
    /// `commissions:read`
    CommissionsRead,
    /// `clicks:write`
    ClicksWrite,
    /// `webhooks:write`
    WebhooksWrite,
}

impl Scope {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::EventsWrite => "events:write",
            Scope::PartnersWrite => "partners:write",
            Scope::PartnersRead => "partners:read",
            Scope::LinksWrite => "links:write",
            Scope::CommissionsRead => "commissions:read",
            Scope::ClicksWrite => "clicks:write",
            Scope::WebhooksWrite => "webhooks:write",
        }
    }
}

/// Where an admin principal came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminSource {
    /// The bootstrap key (`ADMIN_API_KEY`).
    Env,
    /// A DB admin key.
    Key {
        /// Key id.
        key_id: String,
    },
    /// An admin session.
    Session {
        /// Session id.
        session_id: String,
        /// The admin.
        admin: AdminInfo,
    },
}

/// `{id, email, name}` of an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminInfo {
    /// Admin id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
}

/// How a partner authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerSource {
    /// A partner API key.
    Key(String),
    /// A partner session.
    Session(String),
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No credential at all.
    Anonymous,
    /// A credential that is malformed, unknown, revoked, expired, from another tenant, or
    /// belongs to a revoked admin/partner. Guards answer 401.
    Invalid,
    /// \[EXT\] the platform key (only `/platform/*`; 401 on tenant routes).
    Platform,
    /// An admin.
    Admin(AdminSource),
    /// A scoped key.
    Scoped {
        /// Key id.
        key_id: String,
        /// Scopes, insertion order.
        scopes: Vec<String>,
    },
    /// A partner.
    Partner {
        /// The partner id.
        partner_id: String,
        /// Key or session.
        source: PartnerSource,
    },
}

/// The resolved authentication of a request (request extension and extractor).
#[derive(Debug, Clone)]
pub struct Auth {
    /// The principal.
    pub principal: Principal,
    /// True when the key has an allowlist that does not contain the client address.
    pub ip_denied: bool,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            principal: Principal::Anonymous,
            ip_denied: false,
        }
    }
}

impl Auth {
    /// A present but unusable credential (guards answer 401).
    pub fn invalid() -> Auth {
        Auth {
            principal: Principal::Invalid,
            ip_denied: false,
        }
    }

    /// `principal` with no allowlist miss.
    pub fn of(principal: Principal) -> Auth {
        Auth {
            principal,
            ip_denied: false,
        }
    }

    /// A stable id for the credential (rate limiting, idempotency), `None` when the request
    /// is not validly authenticated.
    pub fn credential_id(&self) -> Option<String> {
        match &self.principal {
            Principal::Anonymous | Principal::Invalid => None,
            Principal::Platform => Some("platform".into()),
            Principal::Admin(AdminSource::Env) => Some("env".into()),
            Principal::Admin(AdminSource::Key { key_id }) => Some(format!("key:{key_id}")),
            Principal::Admin(AdminSource::Session { session_id, .. }) => {
                Some(format!("session:{session_id}"))
            }
            Principal::Scoped { key_id, .. } => Some(format!("key:{key_id}")),
            Principal::Partner { source, .. } => Some(match source {
                PartnerSource::Key(k) => format!("key:{k}"),
                PartnerSource::Session(s) => format!("session:{s}"),
            }),
        }
    }

    /// True for admin principals.
    pub fn is_admin(&self) -> bool {
        matches!(self.principal, Principal::Admin(_))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _s: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Auth>().cloned().unwrap_or_default())
    }
}

/// The client address (socket peer, or `X-Forwarded-For` via trusted proxies), inserted
/// by the outer middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);
