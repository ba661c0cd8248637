//! Programs (campaigns), commission rules, grants, snapshots and links (API.md §3.1–3.3).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::wire_enum;

wire_enum! {
    /// How an event's credit is split between clicks.
    AttributionModel {
        /// All credit to the latest eligible click (default).
        LastClick = "last_click",
        /// All credit to the earliest eligible click.
        FirstClick = "first_click",
        /// Equal credit to every eligible click.
        Linear = "linear",
        /// 40 % first, 40 % last, the rest shared in between.
        Position = "position",
    }
}

wire_enum! {
    /// When a sub-rule fires.
    Trigger {
        /// On every matching event.
        Every = "every",
        /// Only on the first attributed event of (partner, user, type).
        First = "first",
        /// Only after the first.
        Subsequent = "subsequent",
    }
}

wire_enum! {
    /// Commission kind.
    RuleType {
        /// Percentage of the event value.
        Percent = "percent",
        /// A fixed amount per event.
        Fixed = "fixed",
    }
}

/// One commission sub-rule: `{trigger, eventType?, type, value, currency?, recurring?,
/// recurringMonths?}`. `value` is a JSON number on the wire (percent or major units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubRule {
    /// `every`, `first` or `subsequent`.
    pub trigger: Trigger,
    /// Event type filter (required for `first`/`subsequent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// `percent` or `fixed`.
    #[serde(rename = "type")]
    pub kind: RuleType,
    /// Percent (e.g. `20`) or fixed amount (major units); > 0.
    #[serde(with = "crate::money::number")]
    pub value: Decimal,
    /// Currency of a fixed rule (informational; commissions use the event currency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Recurring flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring: Option<bool>,
    /// Stop paying this many months (× 30.4375 days) after the first attributed event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring_months: Option<u32>,
}

impl SubRule {
    /// A rule with trigger `every`, no event filter and no recurrence.
    pub fn every(kind: RuleType, value: Decimal) -> Self {
        SubRule {
            trigger: Trigger::Every,
            event_type: None,
            kind,
            value,
            currency: None,
            recurring: None,
            recurring_months: None,
        }
    }
}

/// The legacy single-rule object `{type, value, currency?, recurring?}`, normalised by the
/// server to `[{trigger:"every",…}]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegacyRule {
    /// `percent` or `fixed`.
    #[serde(rename = "type")]
    pub kind: RuleType,
    /// Percent or fixed amount.
    #[serde(with = "crate::money::number")]
    pub value: Decimal,
    /// Currency of a fixed rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Recurring flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring: Option<bool>,
}

/// A program's commission rule as sent on create/update: 1–10 sub-rules or the legacy object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum CommissionRule {
    /// `[SubRule…]`.
    Rules(Vec<SubRule>),
    /// The legacy single object.
    Legacy(LegacyRule),
}

impl From<Vec<SubRule>> for CommissionRule {
    fn from(v: Vec<SubRule>) -> Self {
        CommissionRule::Rules(v)
    }
}

impl From<LegacyRule> for CommissionRule {
    fn from(v: LegacyRule) -> Self {
        CommissionRule::Legacy(v)
    }
}

/// A program row (`GET /programs`, create, update).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Program {
    /// Program id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Name.
    pub name: String,
    /// Normalised sub-rules.
    pub commission_rule: Vec<SubRule>,
    /// Attribution window in days (1–365).
    pub attribution_window_days: u32,
    /// Attribution model.
    pub attribution_model: AttributionModel,
    /// Default landing URL.
    pub destination_url: String,
    /// Comma-separated hosts allowed as deep-link destinations.
    #[serde(default)]
    pub deep_link_allowed_domains: Option<String>,
    /// Holdback before commissions can be approved.
    #[serde(default)]
    pub holdback_days: Option<u32>,
    /// Start of the active period.
    #[serde(default, with = "super::ts::option")]
    pub starts_at: Option<DateTime<Utc>>,
    /// End of the active period (exclusive).
    #[serde(default, with = "super::ts::option")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Creation time.
    #[serde(with = "super::ts")]
    pub created_at: DateTime<Utc>,
}

/// A program as seen through `GET /me/programs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramSummary {
    /// Program id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Default landing URL.
    pub destination_url: String,
    /// Deep-link hosts.
    #[serde(default)]
    pub deep_link_allowed_domains: Option<String>,
    /// Start.
    #[serde(default, with = "super::ts::option")]
    pub starts_at: Option<DateTime<Utc>>,
    /// End.
    #[serde(default, with = "super::ts::option")]
    pub ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ProgramsBody<T> {
    pub programs: Vec<T>,
}

/// A program as granted to a partner (`GET /partners/:id/campaigns`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramGrant {
    /// Program id.
    pub id: String,
    /// Program name.
    pub name: String,
    /// Default landing URL.
    pub destination_url: String,
    /// Deep-link hosts.
    #[serde(default)]
    pub deep_link_allowed_domains: Option<String>,
    /// Whether the partner holds a grant.
    pub granted: bool,
    /// How the grant came about.
    #[serde(default)]
    pub grant_source: Option<String>,
    /// When it was granted.
    #[serde(default, with = "super::ts::option")]
    pub granted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CampaignsBody {
    pub campaigns: Vec<ProgramGrant>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AddedBody {
    pub added: Vec<serde_json::Value>,
}

/// A per-partner commission override (`/partners/:id/commission-snapshot`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommissionSnapshot {
    /// Partner id.
    pub partner_id: String,
    /// `percent` or `fixed`.
    pub commission_type: RuleType,
    /// Decimal string on the wire.
    #[serde(with = "crate::money::string")]
    pub commission_value: Decimal,
    /// Recurring flag.
    #[serde(default)]
    pub recurring: bool,
    /// Sub-rules overriding the programs' rules.
    #[serde(default)]
    pub commission_rules: Option<Vec<SubRule>>,
    /// Holdback override.
    #[serde(default)]
    pub holdback_days: Option<u32>,
    /// `amendment`, …
    #[serde(default)]
    pub source: Option<String>,
    /// When it was taken.
    #[serde(default, with = "super::ts::option")]
    pub snapshotted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SnapshotBody {
    pub snapshot: Option<CommissionSnapshot>,
}

/// Body of `PUT /partners/:id/commission-snapshot`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotInput {
    /// `percent` or `fixed`.
    pub commission_type: RuleType,
    /// ≥ 0, sent as a JSON number.
    #[serde(with = "crate::money::number")]
    pub commission_value: Decimal,
    /// Recurring flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring: Option<bool>,
    /// Holdback override (`Some(None)` sends `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdback_days: Option<Option<u32>>,
    /// 1–10 sub-rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission_rules: Option<Vec<SubRule>>,
}

/// A tracking link row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    /// Link id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Public key used in `/r/<linkKey>`.
    pub link_key: String,
    /// Partner.
    pub partner_id: String,
    /// Program.
    pub program_id: String,
    /// Destination override.
    #[serde(default)]
    pub destination_url: Option<String>,
    /// Creation time.
    #[serde(with = "super::ts")]
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct LinksBody {
    pub links: Vec<Link>,
}
