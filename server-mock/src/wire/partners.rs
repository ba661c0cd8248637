//! Partner shapes (API.md §3.1): the partner row and the `{id, name, email,
//! stripeConnected}` summary that the auth routes answer.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::store::partners::Partner;

/// A partner row.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerRow {
    /// Partner id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Email (lower-cased, unique per tenant).
    pub email: String,
    /// Display name (1–200 characters).
    pub name: String,
    /// \[EXT\] the caller's own id for the partner (`null` when unset); absent with
    /// extensions off.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, extensions(("x-extension" = json!(true))))]
    pub external_id: Option<Option<String>>,
    /// Stripe Connect account id, `null` when not connected.
    pub stripe_connect_account_id: Option<String>,
    /// Free-form metadata object.
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// Creation time (ISO 8601).
    pub created_at: String,
    /// Last change (ISO 8601).
    pub updated_at: String,
    /// First sign-in (or creation without invite); `null` while pending.
    pub activated_at: Option<String>,
    /// Revocation time; `null` while active.
    pub revoked_at: Option<String>,
    /// Reason given at revocation; `null` when none.
    pub revoke_reason: Option<String>,
}

impl PartnerRow {
    /// The wire row of `p`; `externalId` only when `ext` (extensions on).
    pub fn new(p: Partner, ext: bool) -> PartnerRow {
        PartnerRow {
            metadata: serde_json::from_str(&p.metadata)
                .unwrap_or_else(|_| Value::Object(Default::default())),
            id: p.id,
            tenant_id: p.tenant_id,
            email: p.email,
            name: p.name,
            external_id: ext.then_some(p.external_id),
            stripe_connect_account_id: p.stripe_connect_account_id,
            created_at: p.created_at,
            updated_at: p.updated_at,
            activated_at: p.activated_at,
            revoked_at: p.revoked_at,
            revoke_reason: p.revoke_reason,
        }
    }
}

/// `{id, name, email, stripeConnected}` of a partner (sign-in answers, whoami).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerSummary {
    /// Partner id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// True when a Stripe Connect account is attached.
    pub stripe_connected: bool,
}

impl From<&Partner> for PartnerSummary {
    fn from(p: &Partner) -> PartnerSummary {
        PartnerSummary {
            id: p.id.clone(),
            name: p.name.clone(),
            email: p.email.clone(),
            stripe_connected: p.stripe_connect_account_id.is_some(),
        }
    }
}
