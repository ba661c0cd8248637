//! Commission and payout shapes (API.md §3.5), shared by the commission/payout routes,
//! the payout domain ([`crate::domain::payouts`]) and the seed. Money: `amount` of a
//! commission or stored payout is a decimal **string** (`"40.00"`); the payout run's
//! `amount` is an exact JSON **number** (API.md §1).

use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::commissions::CommissionRow;
use crate::store::payouts::PayoutRow;

/// A commission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Commission {
    /// Commission id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// The attribution that earned it.
    pub attribution_id: String,
    /// Partner credited.
    pub partner_id: String,
    /// Exact decimal string.
    #[schema(example = "40.00")]
    pub amount: String,
    /// ISO 4217 currency.
    #[schema(example = "USD")]
    pub currency: String,
    /// `accrued`, `approved`, `paid` or `reversed`.
    #[schema(example = "accrued")]
    pub status: String,
    /// When it accrued (ISO-8601).
    pub accrued_at: String,
    /// When a payout run paid it.
    pub paid_at: Option<String>,
    /// The payout that paid it.
    pub payout_id: Option<String>,
    /// Holdback days of its terms.
    pub holdback_days: Option<i64>,
    /// Program of the attribution.
    pub program_id: Option<String>,
    /// That program's name.
    pub campaign_name: Option<String>,
    /// End of the holdback (ISO-8601); approving before it → 409 `holdback_active`.
    pub mature_at: Option<String>,
}

impl From<CommissionRow> for Commission {
    fn from(r: CommissionRow) -> Commission {
        Commission {
            id: r.id,
            tenant_id: r.tenant_id,
            attribution_id: r.attribution_id,
            partner_id: r.partner_id,
            amount: r.amount,
            currency: r.currency,
            status: r.status,
            accrued_at: r.accrued_at,
            paid_at: r.paid_at,
            payout_id: r.payout_id,
            holdback_days: r.holdback_days,
            program_id: r.program_id,
            campaign_name: r.program_name,
            mature_at: r.mature_at,
        }
    }
}

/// `{commission}`: the answer of approve and reverse.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommissionEnvelope {
    /// The commission after the change.
    pub commission: Commission,
}

/// `metadata` of a stored payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutMetadata {
    /// The payout run that created it.
    pub run_id: String,
    /// How many commissions it pays.
    pub commission_count: i64,
}

/// A stored payout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Payout {
    /// Payout id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Partner paid.
    pub partner_id: String,
    /// Exact decimal string.
    #[schema(example = "40.00")]
    pub amount: String,
    /// ISO 4217 currency.
    pub currency: String,
    /// Always `manual` (self-host).
    pub method: String,
    /// `pending` or `paid`.
    pub status: String,
    /// Run id and commission count.
    pub metadata: PayoutMetadata,
    /// Creation time (ISO-8601).
    pub created_at: String,
    /// Confirmation time (ISO-8601).
    pub completed_at: Option<String>,
}

impl From<PayoutRow> for Payout {
    fn from(r: PayoutRow) -> Payout {
        Payout {
            id: r.id,
            tenant_id: r.tenant_id,
            partner_id: r.partner_id,
            amount: r.amount,
            currency: r.currency,
            method: r.method,
            status: r.status,
            metadata: PayoutMetadata {
                run_id: r.run_id,
                commission_count: r.commission_count,
            },
            created_at: r.created_at,
            completed_at: r.completed_at,
        }
    }
}

/// One payout created by a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunPayout {
    /// The new payout's id.
    pub payout_id: String,
    /// Partner paid.
    pub partner_id: String,
    /// Σ of its commissions, an exact JSON number.
    #[serde(serialize_with = "crate::wire::money::number")]
    #[schema(value_type = f64, example = 40)]
    pub amount: Decimal,
    /// ISO 4217 currency.
    pub currency: String,
    /// Always `manual`.
    pub method: &'static str,
    /// Always `pending`.
    pub status: &'static str,
}

/// `POST /payouts/run` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PayoutRun {
    /// The run's id (each payout's `metadata.runId`).
    pub run_id: String,
    /// Always `selfhost`.
    pub mode: &'static str,
    /// One per (partner, currency) with approved commissions.
    pub payouts: Vec<RunPayout>,
}
