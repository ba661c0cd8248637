//! Commissions and payouts (API.md §3.5).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::wire_enum;

wire_enum! {
    /// Commission status: `accrued → approved → paid`; `accrued|approved → reversed`.
    CommissionStatus {
        /// Earned, not yet approved.
        Accrued = "accrued",
        /// Approved for payout.
        Approved = "approved",
        /// Paid out.
        Paid = "paid",
        /// Cancelled.
        Reversed = "reversed",
    }
}

wire_enum! {
    /// Payout status.
    PayoutStatus {
        /// Created, awaiting confirmation.
        Pending = "pending",
        /// Confirmed paid.
        Paid = "paid",
        /// Failed.
        Failed = "failed",
    }
}

/// A commission row; list rows add `holdbackDays`, `programId`, `campaignName`, `matureAt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Commission {
    /// Commission id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Attribution that earned it.
    pub attribution_id: String,
    /// Partner.
    pub partner_id: String,
    /// Amount, a decimal string on the wire (`"12.00"`).
    #[serde(with = "crate::money::string")]
    pub amount: Decimal,
    /// 3-letter currency.
    pub currency: String,
    /// Status.
    pub status: CommissionStatus,
    /// When it accrued.
    #[serde(with = "super::ts")]
    pub accrued_at: DateTime<Utc>,
    /// When it was paid.
    #[serde(default, with = "super::ts::option")]
    pub paid_at: Option<DateTime<Utc>>,
    /// Payout it belongs to.
    #[serde(default)]
    pub payout_id: Option<String>,
    /// Holdback days (list rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdback_days: Option<u32>,
    /// Program (list rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_id: Option<String>,
    /// Program name (list rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<String>,
    /// When the holdback ends (list rows).
    #[serde(
        default,
        with = "super::ts::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub mature_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CommissionsBody {
    pub commissions: Vec<Commission>,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CommissionBody {
    pub commission: Commission,
}

/// One payout of a run (`amount` is a JSON number here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutRunItem {
    /// Payout id.
    pub payout_id: String,
    /// Partner.
    pub partner_id: String,
    /// Total (JSON number).
    #[serde(with = "crate::money::number")]
    pub amount: Decimal,
    /// Currency.
    pub currency: String,
    /// `manual`, …
    pub method: String,
    /// Status.
    pub status: PayoutStatus,
}

/// `POST /payouts/run` → `{runId, mode, payouts}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutRun {
    /// Run id.
    pub run_id: String,
    /// `selfhost`, …
    #[serde(default)]
    pub mode: Option<String>,
    /// One payout per (partner, currency).
    pub payouts: Vec<PayoutRunItem>,
}

/// A payout row (`amount` is a decimal string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payout {
    /// Payout id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Partner.
    pub partner_id: String,
    /// Total (decimal string).
    #[serde(with = "crate::money::string")]
    pub amount: Decimal,
    /// Currency.
    pub currency: String,
    /// `manual`, …
    pub method: String,
    /// Status.
    pub status: PayoutStatus,
    /// `{runId, commissionCount}`.
    #[serde(default)]
    pub metadata: serde_json::Value,
    /// Creation time.
    #[serde(with = "super::ts")]
    pub created_at: DateTime<Utc>,
    /// When confirmed.
    #[serde(default, with = "super::ts::option")]
    pub completed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PayoutsBody {
    pub payouts: Vec<Payout>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PayoutBody {
    pub payout: Payout,
}
