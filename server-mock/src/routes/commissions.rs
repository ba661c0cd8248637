//! Commissions and payouts (API.md §3.5): `GET /commissions`,
//! `GET /partners/{id}/commissions`, `POST /commissions/{id}/approve|reverse`,
//! `POST /payouts/run`, `POST /payouts/{id}/confirm`, `GET /partners/{id}/payouts`.
//! The lifecycle and the run live in [`crate::domain::payouts`], the SQL in
//! [`crate::store::commissions`] / [`crate::store::payouts`].
//!
//! Lists are newest `accruedAt` first, ties by id (desc). With the \[EXT\]
//! `commission-filters` extension on, `cursor` (same format as partners: base64url of
//! `"<accruedAt>|<id>"`), `since` (inclusive), `until` (exclusive), `programId` and
//! (top-level list only) `partnerId` apply on every page and the answer carries
//! `nextCursor`; with `--no-extensions` those parameters are ignored and `nextCursor` is
//! omitted (the base API). Keyset paging uses the `commissions_*` indexes, so a page costs
//! the same at row 1 and row 1 000 000.

use axum::extract::{Path, State};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Scope};
use crate::domain::payouts::{self, RunScope};
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::pagination;
use crate::respond::{self, Reply};
use crate::state::AppState;
use crate::store;
use crate::tenancy::Tenant;
use crate::util::fmt_ts;
use crate::wire::commissions::{Commission, CommissionEnvelope, Payout, PayoutRun};
use crate::wire::query;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(partner_list))
        .routes(routes!(approve))
        .routes(routes!(reverse))
        .routes(routes!(run_payouts))
        .routes(routes!(confirm_payout))
        .routes(routes!(partner_payouts))
}

/// Query of the commission lists (values are text; see [`ListQuery::filter`]).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `accrued` | `approved` | `paid` | `reversed`.
    #[param(value_type = Option<String>, pattern = "^(accrued|approved|paid|reversed)$")]
    pub status: Option<String>,
    /// Page size, 1–500 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// \[EXT\] `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// \[EXT\] accrued at or after (ISO-8601 or `YYYY-MM-DD`).
    pub since: Option<String>,
    /// \[EXT\] accrued before (ISO-8601 or `YYYY-MM-DD`).
    pub until: Option<String>,
    /// \[EXT\] only this program.
    pub program_id: Option<String>,
    /// \[EXT\] only this partner (`GET /commissions` only).
    pub partner_id: Option<String>,
}

impl ListQuery {
    /// The store filter and the page size; \[EXT\] filters only when `ext`, `partnerId`
    /// only when `top_level`. Errors: 400 `invalid_query` naming the field, 400
    /// `invalid_cursor`.
    pub fn filter(
        self,
        ext: bool,
        top_level: bool,
    ) -> ApiResult<(store::commissions::ListFilter, i64)> {
        let status = match query::nonempty(self.status) {
            None => None,
            Some(s) if matches!(s.as_str(), "accrued" | "approved" | "paid" | "reversed") => {
                Some(s)
            }
            Some(_) => {
                return Err(ApiError::query_field(
                    "status",
                    "Expected 'accrued' | 'approved' | 'paid' | 'reversed'",
                ))
            }
        };
        let limit = query::int_in("limit", self.limit.as_deref(), 1, 500, 100)?;
        let mut f = store::commissions::ListFilter {
            status,
            ..Default::default()
        };
        if ext {
            f.before = query::nonempty(self.cursor)
                .map(|c| pagination::decode(&c).map(|c| (c.ts, c.id)))
                .transpose()?;
            f.since = query::timestamp("since", self.since.as_deref())?.map(fmt_ts);
            f.until = query::timestamp("until", self.until.as_deref())?.map(fmt_ts);
            f.program_id = query::nonempty(self.program_id);
            if top_level {
                f.partner_id = query::nonempty(self.partner_id);
            }
        }
        Ok((f, limit))
    }
}

/// A page of commissions.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommissionPage {
    /// Newest first.
    pub commissions: Vec<Commission>,
    /// \[EXT\] cursor of the next page, `null` on the last; absent with `--no-extensions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, extensions(("x-extension" = json!(true))))]
    pub next_cursor: Option<Option<String>>,
}

/// One page for `filter` (plus one row to know whether a next page exists).
fn page(
    c: &Connection,
    tenant: &str,
    filter: &store::commissions::ListFilter,
    limit: i64,
    ext: bool,
) -> ApiResult<CommissionPage> {
    let rows = store::commissions::list_page(c, tenant, filter, limit + 1)?;
    let limit = usize::try_from(limit).unwrap_or(100);
    let (rows, next) = pagination::page(rows, limit, |r| (r.accrued_at.clone(), r.id.clone()));
    Ok(CommissionPage {
        commissions: rows.into_iter().map(Commission::from).collect(),
        next_cursor: ext.then_some(next),
    })
}

fn ensure_partner(c: &Connection, tenant: &str, id: &str) -> ApiResult<()> {
    if store::partners::exists(c, tenant, id)? {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

/// The tenant's commissions (admin, or a scoped key with `commissions:read`).
#[utoipa::path(get, path = "/commissions", operation_id = "listCommissions", tag = "commissions", params(ListQuery),
    responses(
        (status = 200, description = "A page of commissions", body = CommissionPage),
        (status = 400, description = "invalid_query / invalid_cursor", body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Reply<CommissionPage>> {
    auth.require_scope(Scope::CommissionsRead)?;
    let ext = state.ext();
    let (filter, limit) = q.filter(ext, true)?;
    respond::ok(&state, move |c| page(c, &tenant.id, &filter, limit, ext)).await
}

/// A partner's commissions (admin, `commissions:read`, or the partner itself).
#[utoipa::path(get, path = "/partners/{id}/commissions", tag = "commissions",
    params(("id" = String, Path, description = "Partner id"), ListQuery),
    responses(
        (status = 200, description = "A page of the partner's commissions", body = CommissionPage),
        (status = 400, description = "invalid_query / invalid_cursor", body = crate::error::ErrorBody),
        (status = 404, description = "not_found: no such partner", body = crate::error::ErrorBody)))]
async fn partner_list(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Reply<CommissionPage>> {
    auth.require_scope_or_partner(Scope::CommissionsRead, &id)?;
    let ext = state.ext();
    let (mut filter, limit) = q.filter(ext, false)?;
    filter.partner_id = Some(id.clone());
    respond::ok(&state, move |c| {
        ensure_partner(c, &tenant.id, &id)?;
        page(c, &tenant.id, &filter, limit, ext)
    })
    .await
}

/// Approves an accrued commission whose holdback is over (admin); emits
/// `commission.approved`.
#[utoipa::path(post, path = "/commissions/{id}/approve", tag = "commissions",
    params(("id" = String, Path, description = "Commission id")),
    responses(
        (status = 200, description = "The approved commission", body = CommissionEnvelope),
        (status = 404, description = "not_found", body = crate::error::ErrorBody),
        (status = 409, description = "holdback_active (with matureAt, holdbackDays) / not_approvable", body = crate::error::ErrorBody)))]
async fn approve(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<CommissionEnvelope>> {
    auth.require_admin()?;
    let now = state.now_iso();
    respond::ok(&state, move |c| {
        payouts::approve(c, &tenant.id, &id, &now)
            .map(|commission| CommissionEnvelope { commission })
    })
    .await
}

/// Reverses an accrued or approved commission (admin); emits `commission.reversed`.
#[utoipa::path(post, path = "/commissions/{id}/reverse", tag = "commissions",
    params(("id" = String, Path, description = "Commission id")),
    responses(
        (status = 200, description = "The reversed commission", body = CommissionEnvelope),
        (status = 404, description = "not_found", body = crate::error::ErrorBody),
        (status = 409, description = "not_reversible", body = crate::error::ErrorBody)))]
async fn reverse(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<CommissionEnvelope>> {
    auth.require_admin()?;
    let now = state.now_iso();
    respond::ok(&state, move |c| {
        payouts::reverse(c, &tenant.id, &id, &now)
            .map(|commission| CommissionEnvelope { commission })
    })
    .await
}

/// Pays every approved commission: one manual, pending payout per (partner, currency)
/// (admin); emits `payout.created` and `commission.paid`.
#[utoipa::path(post, path = "/payouts/run", tag = "payouts",
    responses((status = 200, description = "The run and its payouts", body = PayoutRun)))]
async fn run_payouts(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
) -> ApiResult<Reply<PayoutRun>> {
    auth.require_admin()?;
    let now = state.now_iso();
    respond::ok(&state, move |c| {
        payouts::run(c, &tenant.id, &now, RunScope::API)
    })
    .await
}

/// `{payout}`: the answer of confirm.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayoutEnvelope {
    /// The payout after the change.
    pub payout: Payout,
}

/// Marks a pending payout paid (admin).
#[utoipa::path(post, path = "/payouts/{id}/confirm", tag = "payouts",
    params(("id" = String, Path, description = "Payout id")),
    responses(
        (status = 200, description = "The confirmed payout", body = PayoutEnvelope),
        (status = 404, description = "payout_not_found", body = crate::error::ErrorBody),
        (status = 409, description = "not_confirmable", body = crate::error::ErrorBody)))]
async fn confirm_payout(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<PayoutEnvelope>> {
    auth.require_admin()?;
    let now = state.now_iso();
    respond::ok(&state, move |c| {
        payouts::confirm(c, &tenant.id, &id, &now).map(|payout| PayoutEnvelope { payout })
    })
    .await
}

/// `{payouts}`: a partner's payouts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PayoutList {
    /// The newest 200, newest first.
    pub payouts: Vec<Payout>,
}

/// Most payouts listed.
const PAYOUT_LIST_LIMIT: i64 = 200;

/// A partner's newest 200 payouts (admin or the partner itself).
#[utoipa::path(get, path = "/partners/{id}/payouts", tag = "payouts",
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, description = "The partner's payouts", body = PayoutList),
        (status = 404, description = "not_found: no such partner", body = crate::error::ErrorBody)))]
async fn partner_payouts(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<PayoutList>> {
    auth.require_admin_or_partner(&id)?;
    respond::ok(&state, move |c| {
        ensure_partner(c, &tenant.id, &id)?;
        let rows = store::payouts::list_of_partner(c, &tenant.id, &id, PAYOUT_LIST_LIMIT)?;
        Ok(PayoutList {
            payouts: rows.into_iter().map(Payout::from).collect(),
        })
    })
    .await
}

/// The export's JSON of a payout row selected with [`store::payouts::COLS`] (the wire
/// [`Payout`]). Kept for `routes/export.rs` until the export reads
/// [`store::payouts::PayoutRow`] itself.
pub fn payout_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<serde_json::Value> {
    let payout = Payout::from(store::payouts::PayoutRow::from_row(r)?);
    serde_json::to_value(payout).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}
