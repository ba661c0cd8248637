//! Partner analytics (API.md §3.1): all amounts here are JSON numbers.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::AttributionModel;

/// `GET /partners/:id/dashboard`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// Partner.
    pub partner_id: String,
    /// Start of the window.
    #[serde(with = "super::ts")]
    pub since: DateTime<Utc>,
    /// Clicks in the window.
    pub clicks: u64,
    /// Distinct attributed events.
    pub attributed_events: u64,
    /// Σ value × stored weight (JSON number).
    #[serde(with = "crate::money::number")]
    pub attributed_revenue: Decimal,
    /// Commission totals by status (absent statuses are `None`).
    #[serde(default)]
    pub commission_by_status: CommissionByStatus,
}

/// `commissionByStatus` of a [`Dashboard`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommissionByStatus {
    /// Accrued total.
    #[serde(
        default,
        with = "crate::money::number_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub accrued: Option<Decimal>,
    /// Approved total.
    #[serde(
        default,
        with = "crate::money::number_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub approved: Option<Decimal>,
    /// Paid total.
    #[serde(
        default,
        with = "crate::money::number_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub paid: Option<Decimal>,
    /// Reversed total.
    #[serde(
        default,
        with = "crate::money::number_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub reversed: Option<Decimal>,
}

/// `GET /partners/:id/timeseries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeseries {
    /// Partner.
    pub partner_id: String,
    /// Range start.
    #[serde(with = "super::ts")]
    pub since: DateTime<Utc>,
    /// Range end.
    #[serde(with = "super::ts")]
    pub until: DateTime<Utc>,
    /// `day` or `week`.
    pub bucket: String,
    /// Buckets in time order.
    pub buckets: Vec<TimeseriesBucket>,
}

/// One bucket of a [`Timeseries`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeseriesBucket {
    /// Bucket start as sent by the server (date or timestamp).
    pub bucket: String,
    /// Clicks.
    pub clicks: u64,
    /// Lead events.
    pub leads: u64,
    /// Sale events.
    pub sales: u64,
    /// Revenue (JSON number).
    #[serde(with = "crate::money::number")]
    pub revenue: Decimal,
    /// Earnings (JSON number).
    #[serde(with = "crate::money::number")]
    pub earnings: Decimal,
}

/// One attributed event (`GET /partners/:id/events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerEvent {
    /// Attribution id.
    pub attribution_id: String,
    /// Stored weight (JSON number).
    #[serde(with = "crate::money::number")]
    pub weight: Decimal,
    /// Model.
    pub model: AttributionModel,
    /// Event id.
    pub event_id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Event value (JSON number).
    #[serde(default, with = "crate::money::number_opt")]
    pub value: Option<Decimal>,
    /// Currency.
    pub currency: String,
    /// Event time.
    #[serde(with = "super::ts")]
    pub ts: DateTime<Utc>,
    /// User.
    pub user_id: String,
    /// The credited click.
    #[serde(default)]
    pub click: Option<EventClick>,
}

/// `click` of a [`PartnerEvent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventClick {
    /// Click id.
    pub id: String,
    /// Link key.
    #[serde(default)]
    pub link_key: Option<String>,
    /// Referer.
    #[serde(default)]
    pub referer: Option<String>,
    /// Landing URL.
    #[serde(default)]
    pub landing_url: Option<String>,
    /// Click time.
    #[serde(with = "super::ts")]
    pub ts: DateTime<Utc>,
}

/// One customer (`GET /partners/:id/customers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// User.
    pub user_id: String,
    /// First event.
    #[serde(with = "super::ts")]
    pub first_event_at: DateTime<Utc>,
    /// Last event.
    #[serde(with = "super::ts")]
    pub last_event_at: DateTime<Utc>,
    /// Number of events.
    pub event_count: u64,
    /// Revenue (JSON number).
    #[serde(with = "crate::money::number")]
    pub revenue: Decimal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventsBody {
    pub events: Vec<PartnerEvent>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomersBody {
    pub customers: Vec<Customer>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: Option<u64>,
}
