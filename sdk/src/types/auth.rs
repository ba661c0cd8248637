//! Health, authentication, identity and dev-mailbox models (API.md §1, §2).

use serde::{Deserialize, Serialize};

use super::wire_enum;
use crate::credentials::{Credentials, Secret};

wire_enum! {
    /// The kind of principal behind a credential.
    Role {
        /// An admin (key, bootstrap key or session).
        Admin = "admin",
        /// A scoped API key.
        Scoped = "scoped",
        /// A partner (key or session).
        Partner = "partner",
    }
}

wire_enum! {
    /// Why a dev-mailbox message was sent.
    MailPurpose {
        /// Invitation of a new partner.
        PartnerInvite = "partner_invite",
        /// Partner sign-in link (also login links).
        PartnerSignin = "partner_signin",
        /// Invitation of a new admin.
        AdminInvite = "admin_invite",
        /// Admin sign-in link.
        AdminSignin = "admin_signin",
    }
}

/// `GET /health` → `{"ok":true,"service":"api","mode":"selfhost"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Always `true` on a healthy server.
    pub ok: bool,
    /// Service name (`api`).
    #[serde(default)]
    pub service: Option<String>,
    /// `selfhost` or the multi-tenant mode name.
    #[serde(default)]
    pub mode: Option<String>,
}

/// An admin as embedded in sign-in and whoami responses: `{id,email,name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminSummary {
    /// Admin id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
}

/// A partner as embedded in sign-in and whoami responses: `{id,name,email,stripeConnected}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerSummary {
    /// Partner id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Whether a Stripe Connect account is linked.
    #[serde(default)]
    pub stripe_connected: bool,
}

/// Result of `POST /auth/magic/verify`: who signed in, and the session credential parsed from
/// `Set-Cookie: op_session=…`.
#[derive(Debug, Clone)]
pub struct MagicLinkLogin {
    /// `admin` or `partner`.
    pub role: Role,
    /// Set for an admin sign-in.
    pub admin: Option<AdminSummary>,
    /// Set for a partner sign-in.
    pub partner: Option<PartnerSummary>,
    /// [`Credentials::Session`] holding the `ops_…` token; use with
    /// [`Client::with_credentials`](crate::Client::with_credentials).
    pub session: Credentials,
}

/// Wire body of `POST /auth/magic/verify` (without the cookie).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MagicVerifyBody {
    pub role: Role,
    #[serde(default)]
    pub admin: Option<AdminSummary>,
    #[serde(default)]
    pub partner: Option<PartnerSummary>,
}

/// `GET /auth/whoami`: admin key `{role,source:"env"|"db"}`, admin session
/// `{role,source:"session",admin}`, partner `{role,partnerId,partner}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    /// `admin` or `partner`.
    pub role: Role,
    /// For admins: `env`, `db` or `session`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// For admin sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<AdminSummary>,
    /// For partners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// For partners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<PartnerSummary>,
}

/// `GET /auth/introspect`: what the current credential may do.
///
/// Wire forms: `{"role":"admin","unrestricted":true}`, `{"role":"scoped","scopes":[…]}`,
/// `{"role":"partner","restrictedTo":{"partnerId"}}`; `partner_id` is lifted out of
/// `restrictedTo`. Serialises back to the same wire form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "IntrospectionWire", into = "IntrospectionWire")]
pub struct Introspection {
    /// The principal kind.
    pub role: Role,
    /// `true` for admins (every route).
    pub unrestricted: bool,
    /// The scopes of a scoped key, in insertion order (empty otherwise).
    pub scopes: Vec<String>,
    /// The partner a partner credential is restricted to.
    pub partner_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntrospectionWire {
    role: Role,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    unrestricted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    restricted_to: Option<RestrictedTo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RestrictedTo {
    partner_id: String,
}

impl From<IntrospectionWire> for Introspection {
    fn from(w: IntrospectionWire) -> Self {
        Introspection {
            role: w.role,
            unrestricted: w.unrestricted,
            scopes: w.scopes.unwrap_or_default(),
            partner_id: w.restricted_to.map(|r| r.partner_id),
        }
    }
}

impl From<Introspection> for IntrospectionWire {
    fn from(i: Introspection) -> Self {
        IntrospectionWire {
            role: i.role,
            unrestricted: i.unrestricted,
            scopes: if i.scopes.is_empty() {
                None
            } else {
                Some(i.scopes)
            },
            restricted_to: i.partner_id.map(|partner_id| RestrictedTo { partner_id }),
        }
    }
}

/// One message of the reference server's dev mailbox (`GET /dev/mailbox`). `Debug` masks
/// the magic-link tokens in `body` (and [`MailMetadata`] those in `url` and `token`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailMessage {
    /// Recipient email.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Text body (contains the magic link: treat as secret).
    pub body: String,
    /// Machine-readable details.
    pub metadata: MailMetadata,
}

/// `metadata` of a [`MailMessage`]: `{purpose, token, url}` (`Debug` masks the token in
/// both).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailMetadata {
    /// `partner_invite`, `partner_signin`, `admin_invite`, `admin_signin`.
    pub purpose: MailPurpose,
    /// The magic-link token `opml_…`.
    #[serde(default)]
    pub token: Option<Secret>,
    /// The magic link (embeds the token; never log it).
    #[serde(default)]
    pub url: Option<String>,
}

impl std::fmt::Debug for MailMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailMessage")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("body", &crate::redact::mask_text(&self.body))
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl std::fmt::Debug for MailMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailMetadata")
            .field("purpose", &self.purpose)
            .field("token", &self.token)
            .field("url", &self.url.as_deref().map(crate::redact::mask_text))
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MailboxBody {
    pub messages: Vec<MailMessage>,
}
