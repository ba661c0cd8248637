//! Commission lifecycle and payouts (API.md §3.5): approve / reverse a commission, a
//! payout run, confirming a payout. Used by the commission/payout routes and the seed;
//! every function works inside the caller's one job (all-or-nothing) and emits its
//! webhook events through the outbox in that job (the seed's payout run emits none).
//!
//! Money is summed with `rust_decimal` only (never in SQL, which would use floats).

use std::collections::BTreeMap;
use std::str::FromStr;

use rusqlite::Connection;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::store;
use crate::util::new_id;
use crate::wire::commissions::{Commission, Payout, PayoutRun, RunPayout};

/// `data` of `commission.approved` / `commission.reversed` / `commission.paid`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CommissionChanged<'a> {
    commission_id: &'a str,
    partner_id: &'a str,
    amount: &'a str,
    currency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    attribution_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payout_id: Option<&'a str>,
}

/// `data` of `payout.created`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PayoutCreated<'a> {
    payout_id: &'a str,
    partner_id: &'a str,
    amount: String,
    currency: &'a str,
    method: &'static str,
    commission_ids: Vec<&'a str>,
}

fn emit(
    c: &Connection,
    tenant: &str,
    event_type: &str,
    data: impl Serialize,
    now: &str,
) -> ApiResult<()> {
    let data = serde_json::to_value(data).map_err(|_| ApiError::internal())?;
    crate::outbox::emit(c, tenant, event_type, data, now)?;
    Ok(())
}

fn load(c: &Connection, tenant: &str, id: &str) -> ApiResult<store::commissions::CommissionRow> {
    store::commissions::get(c, tenant, id)?.ok_or_else(ApiError::not_found)
}

/// Approves accrued commission `id` at ISO `now`, emitting `commission.approved`; returns
/// it. Errors: 404 `not_found`; 409 `holdback_active` (before `matureAt`, with `matureAt`
/// and `holdbackDays`); 409 `not_approvable` (not `accrued`).
pub fn approve(c: &Connection, tenant: &str, id: &str, now: &str) -> ApiResult<Commission> {
    let row = load(c, tenant, id)?;
    if let Some(m) = row.mature_at.as_deref() {
        if now < m {
            return Err(ApiError::conflict("holdback_active")
                .detail(format!(
                    "the commission is in its holdback period until {m}"
                ))
                .field("matureAt", m)
                .field("holdbackDays", row.holdback_days));
        }
    }
    if row.status != "accrued" {
        return Err(
            ApiError::conflict("not_approvable").detail("only accrued commissions can be approved")
        );
    }
    store::commissions::set_status(c, id, "approved")?;
    emit(
        c,
        tenant,
        "commission.approved",
        CommissionChanged {
            commission_id: id,
            partner_id: &row.partner_id,
            amount: &row.amount,
            currency: &row.currency,
            attribution_id: Some(&row.attribution_id),
            payout_id: None,
        },
        now,
    )?;
    Ok(load(c, tenant, id)?.into())
}

/// Reverses accrued or approved commission `id` at ISO `now`, emitting
/// `commission.reversed`; returns it. Errors: 404 `not_found`; 409 `not_reversible`.
pub fn reverse(c: &Connection, tenant: &str, id: &str, now: &str) -> ApiResult<Commission> {
    let row = load(c, tenant, id)?;
    if row.status != "accrued" && row.status != "approved" {
        return Err(ApiError::conflict("not_reversible")
            .detail("only accrued or approved commissions can be reversed"));
    }
    store::commissions::set_status(c, id, "reversed")?;
    emit(
        c,
        tenant,
        "commission.reversed",
        CommissionChanged {
            commission_id: id,
            partner_id: &row.partner_id,
            amount: &row.amount,
            currency: &row.currency,
            attribution_id: None,
            payout_id: None,
        },
        now,
    )?;
    Ok(load(c, tenant, id)?.into())
}

/// Which approved commissions a payout run pays, and whether it emits webhook events.
#[derive(Debug, Clone, Copy)]
pub struct RunScope<'a> {
    /// Only commissions accrued strictly before this ISO time (`None`: every approved one).
    pub accrued_before: Option<&'a str>,
    /// Emit `payout.created` and `commission.paid` (the seed does not).
    pub emit: bool,
}

impl RunScope<'_> {
    /// What `POST /payouts/run` does: every approved commission, with webhook events.
    pub const API: RunScope<'static> = RunScope {
        accrued_before: None,
        emit: true,
    };
}

/// A payout run at ISO `now`: one manual, pending payout per (partner, currency) of the
/// approved commissions in `scope`; those commissions become paid. Emits (when
/// `scope.emit`) `payout.created` then `commission.paid` for each of its commissions.
/// Errors: database errors, or a stored amount that is not a decimal (500).
pub fn run(c: &Connection, tenant: &str, now: &str, scope: RunScope<'_>) -> ApiResult<PayoutRun> {
    let approved = store::commissions::approved(c, tenant, scope.accrued_before)?;
    let mut groups: BTreeMap<(String, String), Vec<(store::commissions::Approved, Decimal)>> =
        BTreeMap::new();
    for a in approved {
        let d = Decimal::from_str(&a.amount).map_err(|_| ApiError::internal())?;
        groups
            .entry((a.partner_id.clone(), a.currency.clone()))
            .or_default()
            .push((a, d));
    }
    let run_id = new_id();
    let mut payouts = Vec::with_capacity(groups.len());
    for ((partner, currency), items) in groups {
        let payout_id = new_id();
        let mut total: Decimal = items.iter().map(|i| i.1).sum();
        total.rescale(2);
        store::payouts::insert_pending(
            c,
            &payout_id,
            tenant,
            &partner,
            &total.to_string(),
            &currency,
            &run_id,
            items.len(),
            now,
        )?;
        for (a, _) in &items {
            store::commissions::set_paid(c, &a.id, &payout_id, now)?;
        }
        if scope.emit {
            emit(
                c,
                tenant,
                "payout.created",
                PayoutCreated {
                    payout_id: &payout_id,
                    partner_id: &partner,
                    amount: total.to_string(),
                    currency: &currency,
                    method: "manual",
                    commission_ids: items.iter().map(|i| i.0.id.as_str()).collect(),
                },
                now,
            )?;
            for (a, _) in &items {
                emit(
                    c,
                    tenant,
                    "commission.paid",
                    CommissionChanged {
                        commission_id: &a.id,
                        partner_id: &partner,
                        amount: &a.amount,
                        currency: &currency,
                        attribution_id: None,
                        payout_id: Some(&payout_id),
                    },
                    now,
                )?;
            }
        }
        payouts.push(RunPayout {
            payout_id,
            partner_id: partner,
            amount: total,
            currency,
            method: "manual",
            status: "pending",
        });
    }
    Ok(PayoutRun {
        run_id,
        mode: "selfhost",
        payouts,
    })
}

/// Confirms pending payout `id` (status `paid`, `completedAt` = ISO `now`); returns it.
/// Errors: 404 `payout_not_found`; 409 `not_confirmable` (not pending).
pub fn confirm(c: &Connection, tenant: &str, id: &str, now: &str) -> ApiResult<Payout> {
    let row = store::payouts::get(c, tenant, id)?
        .ok_or_else(|| ApiError::not_found_code("payout_not_found"))?;
    if row.status != "pending" {
        return Err(
            ApiError::conflict("not_confirmable").detail("only pending payouts can be confirmed")
        );
    }
    store::payouts::set_paid(c, id, now)?;
    let row = store::payouts::get(c, tenant, id)?.ok_or_else(ApiError::internal)?;
    Ok(row.into())
}
