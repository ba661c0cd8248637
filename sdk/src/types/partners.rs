//! Partner, API key and admin models (API.md §3.1, §3.7, §3.8).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::credentials::Secret;

/// A partner row (`GET /partners/:id`, list items, creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Partner {
    /// Partner id.
    pub id: String,
    /// Owning tenant id.
    pub tenant_id: String,
    /// Email, lower-cased by the server.
    pub email: String,
    /// Display name.
    pub name: String,
    /// \[EXT\] external id (`None` on servers without `external-id`).
    #[serde(default)]
    pub external_id: Option<String>,
    /// Linked Stripe Connect account.
    #[serde(default)]
    pub stripe_connect_account_id: Option<String>,
    /// Free-form metadata object (`{}` by default).
    #[serde(default = "empty_object")]
    pub metadata: serde_json::Value,
    /// Creation time.
    #[serde(with = "super::ts")]
    pub created_at: DateTime<Utc>,
    /// Last update time.
    #[serde(with = "super::ts")]
    pub updated_at: DateTime<Utc>,
    /// When the partner accepted the invite (or was created active).
    #[serde(default, with = "super::ts::option")]
    pub activated_at: Option<DateTime<Utc>>,
    /// When the partner was revoked.
    #[serde(default, with = "super::ts::option")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why the partner was revoked.
    #[serde(default)]
    pub revoke_reason: Option<String>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// `POST /partners` → 201: the partner row plus `invited`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPartner {
    /// The created row (flattened on the wire).
    #[serde(flatten)]
    pub partner: Partner,
    /// Whether an invite mail was sent.
    #[serde(default)]
    pub invited: bool,
}

/// `POST /partners/:id/revoke` → `{ok, revokedAt, notified, notifyError}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokeResult {
    /// When the partner was revoked.
    #[serde(with = "super::ts")]
    pub revoked_at: DateTime<Utc>,
    /// Whether the partner was notified by mail.
    #[serde(default)]
    pub notified: bool,
    /// Why the notification failed, if it did.
    #[serde(default)]
    pub notify_error: Option<String>,
}

/// A freshly created API key (`POST /api-keys`, `/api-keys/scoped`, `/partners/:id/api-keys`).
/// The plaintext is shown only once; `Debug` masks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKey {
    /// Key id (for revocation).
    pub id: String,
    /// The key `op_…` (shown once).
    pub plaintext: Secret,
    /// Scopes of a scoped key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// \[EXT\] IP allowlist echoed by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_ips: Option<Vec<String>>,
}

/// An API key in a listing (`GET /api-keys`, `GET /partners/:id/api-keys`); never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInfo {
    /// Key id.
    pub id: String,
    /// First 8 characters of the key.
    pub prefix: String,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// Scopes (scoped keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// \[EXT\] IP allowlist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_ips: Option<Vec<String>>,
    /// Creation time.
    #[serde(with = "super::ts")]
    pub created_at: DateTime<Utc>,
    /// Last use.
    #[serde(default, with = "super::ts::option")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time.
    #[serde(default, with = "super::ts::option")]
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApiKeysBody {
    pub api_keys: Vec<ApiKeyInfo>,
}

/// An admin (`GET /admins`, `POST /admins`).
///
/// API.md does not spell out the admin row; this follows the partner row's conventions and
/// keeps every field but `id`, `email` and `name` optional so a leaner server still decodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Admin {
    /// Admin id.
    pub id: String,
    /// Owning tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Creation time.
    #[serde(
        default,
        with = "super::ts::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<DateTime<Utc>>,
    /// Activation time (`None` while the invite is pending).
    #[serde(default, with = "super::ts::option")]
    pub activated_at: Option<DateTime<Utc>>,
    /// Revocation time.
    #[serde(default, with = "super::ts::option")]
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AdminsBody {
    pub admins: Vec<Admin>,
}

/// Accepts `{"admin":{…}}` or a bare admin row.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum AdminEnvelope {
    Wrapped { admin: Admin },
    Bare(Admin),
}

impl AdminEnvelope {
    pub fn into_admin(self) -> Admin {
        match self {
            AdminEnvelope::Wrapped { admin } | AdminEnvelope::Bare(admin) => admin,
        }
    }
}
