//! Commissions and payouts (API.md §3.5).
//!
//! Lists are newest `accruedAt` first, ties by id (desc). With the \[EXT\]
//! `commission-filters` extension on, `cursor` (same format as partners: base64url of
//! `"<accruedAt>|<id>"`), `since` (inclusive), `until` (exclusive), `programId` and
//! (top-level list only) `partnerId` apply on every page and the answer carries
//! `nextCursor`; with `--no-extensions` those parameters are ignored and `nextCursor` is
//! omitted (the base API). Keyset paging uses the `commissions_*` indexes of
//! `0002_attribution.sql`, so a page costs the same at row 1 and row 1 000 000.
//!
//! Money is summed with `rust_decimal` only (never in SQL, which would use floats).

use crate::db::ConnExt;
use std::collections::BTreeMap;
use std::str::FromStr;

use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::pagination;
use crate::rules::dec_number;
use crate::util::{fmt_ts, new_id};

const COLS: &str =
    "c.id, c.tenant_id, c.attribution_id, c.partner_id, c.amount, c.currency, c.status,
    c.accrued_at, c.paid_at, c.payout_id, c.holdback_days, c.program_id, p.name, c.mature_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    Ok(json!({
        "id": r.get::<_, String>(0)?,
        "tenantId": r.get::<_, String>(1)?,
        "attributionId": r.get::<_, String>(2)?,
        "partnerId": r.get::<_, String>(3)?,
        "amount": r.get::<_, String>(4)?,
        "currency": r.get::<_, String>(5)?,
        "status": r.get::<_, String>(6)?,
        "accruedAt": r.get::<_, String>(7)?,
        "paidAt": r.get::<_, Option<String>>(8)?,
        "payoutId": r.get::<_, Option<String>>(9)?,
        "holdbackDays": r.get::<_, Option<i64>>(10)?,
        "programId": r.get::<_, Option<String>>(11)?,
        "campaignName": r.get::<_, Option<String>>(12)?,
        "matureAt": r.get::<_, Option<String>>(13)?,
    }))
}

/// Parsed list query.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    status: Option<String>,
    limit: i64,
    cursor: Option<pagination::Cursor>,
    since: Option<String>,
    until: Option<String>,
    program_id: Option<String>,
    partner_id: Option<String>,
    ext: bool,
}

fn ts_param(q: &QueryParams, name: &str) -> ApiResult<Option<String>> {
    Ok(crate::routes::analytics::query_ts(q, name)?.map(fmt_ts))
}

/// Parses `status`, `limit` and (with extensions) the \[EXT\] filters.
pub fn parse_list_query(q: &QueryParams, ext: bool, top_level: bool) -> ApiResult<ListQuery> {
    let status = match q.string("status") {
        None => None,
        Some(s) if matches!(s.as_str(), "accrued" | "approved" | "paid" | "reversed") => Some(s),
        Some(_) => {
            return Err(ApiError::query_field(
                "status",
                "Expected 'accrued' | 'approved' | 'paid' | 'reversed'",
            ))
        }
    };
    let limit = q.int_in("limit", 1, 500, 100)?;
    let mut lq = ListQuery {
        status,
        limit,
        ext,
        ..ListQuery::default()
    };
    if ext {
        lq.cursor = q
            .string("cursor")
            .map(|c| pagination::decode(&c))
            .transpose()?;
        lq.since = ts_param(q, "since")?;
        lq.until = ts_param(q, "until")?;
        lq.program_id = q.string("programId");
        if top_level {
            lq.partner_id = q.string("partnerId");
        }
    }
    Ok(lq)
}

/// Runs a list query (`partner` fixes the partner for `/partners/:id/commissions`).
pub fn list(
    conn: &Connection,
    tenant: &str,
    partner: Option<&str>,
    q: &ListQuery,
) -> ApiResult<Value> {
    let mut wh = vec!["c.tenant_id = ?".to_owned()];
    let mut args: Vec<Sql> = vec![Sql::Text(tenant.into())];
    if let Some(p) = partner.or(q.partner_id.as_deref()) {
        wh.push("c.partner_id = ?".into());
        args.push(Sql::Text(p.into()));
    }
    if let Some(s) = &q.status {
        wh.push("c.status = ?".into());
        args.push(Sql::Text(s.clone()));
    }
    if let Some(p) = &q.program_id {
        wh.push("c.program_id = ?".into());
        args.push(Sql::Text(p.clone()));
    }
    if let Some(s) = &q.since {
        wh.push("c.accrued_at >= ?".into());
        args.push(Sql::Text(s.clone()));
    }
    if let Some(u) = &q.until {
        wh.push("c.accrued_at < ?".into());
        args.push(Sql::Text(u.clone()));
    }
    if let Some(c) = &q.cursor {
        wh.push("(c.accrued_at, c.id) < (?, ?)".into());
        args.push(Sql::Text(c.ts.clone()));
        args.push(Sql::Text(c.id.clone()));
    }
    args.push(Sql::Integer(q.limit + 1));
    let sql = format!(
        "SELECT {COLS} FROM commissions c LEFT JOIN programs p ON p.id = c.program_id
         WHERE {} ORDER BY c.accrued_at DESC, c.id DESC LIMIT ?",
        wh.join(" AND ")
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(params_from_iter(args), row)?;
    let rows: Vec<Value> = rows.collect::<rusqlite::Result<_>>()?;
    let limit = usize::try_from(q.limit).unwrap_or(100);
    let (page, next) = pagination::page(rows, limit, |r| {
        (
            r["accruedAt"].as_str().unwrap_or_default().to_owned(),
            r["id"].as_str().unwrap_or_default().to_owned(),
        )
    });
    if q.ext {
        Ok(json!({"commissions": page, "nextCursor": next}))
    } else {
        Ok(json!({"commissions": page}))
    }
}

fn get_commission(conn: &Connection, tenant: &str, id: &str) -> ApiResult<Option<Value>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {COLS} FROM commissions c LEFT JOIN programs p ON p.id = c.program_id
                 WHERE c.tenant_id = ?1 AND c.id = ?2"
            ),
            params![tenant, id],
            row,
        )
        .optional()?)
}

/// `POST /commissions/:id/approve` (checks: 404, 409 `holdback_active`, 409
/// `not_approvable`), emitting `commission.approved`.
pub fn approve(conn: &mut Connection, tenant: &str, id: &str, now: &str) -> ApiResult<Value> {
    let tx = conn.savepoint()?;
    let c = get_commission(&tx, tenant, id)?.ok_or_else(ApiError::not_found)?;
    if let Some(m) = c["matureAt"].as_str() {
        if now < m {
            return Err(ApiError::conflict("holdback_active")
                .detail(format!(
                    "the commission is in its holdback period until {m}"
                ))
                .field("matureAt", m)
                .field("holdbackDays", c["holdbackDays"].clone()));
        }
    }
    if c["status"] != "accrued" {
        return Err(
            ApiError::conflict("not_approvable").detail("only accrued commissions can be approved")
        );
    }
    tx.exec(
        "UPDATE commissions SET status = 'approved' WHERE id = ?1",
        [id],
    )?;
    crate::outbox::emit(
        &tx,
        tenant,
        "commission.approved",
        json!({
            "commissionId": id,
            "partnerId": c["partnerId"],
            "amount": c["amount"],
            "currency": c["currency"],
            "attributionId": c["attributionId"],
        }),
        now,
    )?;
    let out = get_commission(&tx, tenant, id)?.ok_or_else(ApiError::internal)?;
    tx.commit()?;
    Ok(json!({ "commission": out }))
}

/// `POST /commissions/:id/reverse` (404; 409 `not_reversible`), emitting
/// `commission.reversed`.
pub fn reverse(conn: &mut Connection, tenant: &str, id: &str, now: &str) -> ApiResult<Value> {
    let tx = conn.savepoint()?;
    let c = get_commission(&tx, tenant, id)?.ok_or_else(ApiError::not_found)?;
    if c["status"] != "accrued" && c["status"] != "approved" {
        return Err(ApiError::conflict("not_reversible")
            .detail("only accrued or approved commissions can be reversed"));
    }
    tx.exec(
        "UPDATE commissions SET status = 'reversed' WHERE id = ?1",
        [id],
    )?;
    crate::outbox::emit(
        &tx,
        tenant,
        "commission.reversed",
        json!({
            "commissionId": id,
            "partnerId": c["partnerId"],
            "amount": c["amount"],
            "currency": c["currency"],
        }),
        now,
    )?;
    let out = get_commission(&tx, tenant, id)?.ok_or_else(ApiError::internal)?;
    tx.commit()?;
    Ok(json!({ "commission": out }))
}

/// (commission id, amount, amount as stored).
type Approved = (String, Decimal, String);

/// `POST /payouts/run`: one manual, pending payout per (partner, currency) of approved
/// commissions; the commissions become paid. Emits `payout.created` then `commission.paid`
/// for each of its commissions. `emit` = false skips webhook events (seed).
pub fn run_payouts(conn: &mut Connection, tenant: &str, now: &str, emit: bool) -> ApiResult<Value> {
    let tx = conn.savepoint()?;
    let approved: Vec<(String, String, String, String)> = {
        let mut st = tx.prepare(
            "SELECT id, partner_id, currency, amount FROM commissions
             WHERE tenant_id = ?1 AND status = 'approved' ORDER BY partner_id, currency, accrued_at, id",
        )?;
        let rows = st.query_map([tenant], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut groups: BTreeMap<(String, String), Vec<Approved>> = BTreeMap::new();
    for (id, partner, currency, amount) in approved {
        let d = Decimal::from_str(&amount).map_err(|_| ApiError::internal())?;
        groups
            .entry((partner, currency))
            .or_default()
            .push((id, d, amount));
    }
    let run_id = new_id();
    let mut payouts = Vec::new();
    for ((partner, currency), items) in groups {
        let payout_id = new_id();
        let mut total: Decimal = items.iter().map(|i| i.1).sum();
        total.rescale(2);
        tx.exec(
            "INSERT INTO payouts (id, tenant_id, partner_id, amount, currency, method, status, run_id,
                commission_count, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'manual', 'pending', ?6, ?7, ?8)",
            params![payout_id, tenant, partner, total.to_string(), currency, run_id, items.len(), now],
        )?;
        {
            let mut up = tx.prepare_cached(
                "UPDATE commissions SET status = 'paid', paid_at = ?1, payout_id = ?2 WHERE id = ?3",
            )?;
            for (id, _, _) in &items {
                up.execute(params![now, payout_id, id])?;
            }
        }
        if emit {
            crate::outbox::emit(
                &tx,
                tenant,
                "payout.created",
                json!({
                    "payoutId": payout_id,
                    "partnerId": partner,
                    "amount": total.to_string(),
                    "currency": currency,
                    "method": "manual",
                    "commissionIds": items.iter().map(|i| i.0.clone()).collect::<Vec<_>>(),
                }),
                now,
            )?;
            for (id, _, amount) in &items {
                crate::outbox::emit(
                    &tx,
                    tenant,
                    "commission.paid",
                    json!({
                        "commissionId": id,
                        "partnerId": partner,
                        "amount": amount,
                        "currency": currency,
                        "payoutId": payout_id,
                    }),
                    now,
                )?;
            }
        }
        payouts.push(json!({
            "payoutId": payout_id,
            "partnerId": partner,
            "amount": dec_number(total),
            "currency": currency,
            "method": "manual",
            "status": "pending",
        }));
    }
    tx.commit()?;
    Ok(json!({"runId": run_id, "mode": "selfhost", "payouts": payouts}))
}

/// Column list matching [`payout_row`].
pub const PAYOUT_COLS: &str =
    "id, tenant_id, partner_id, amount, currency, method, status, run_id, commission_count, created_at, completed_at";

/// The API row of a payout, from a query selecting [`PAYOUT_COLS`].
pub fn payout_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    Ok(json!({
        "id": r.get::<_, String>(0)?,
        "tenantId": r.get::<_, String>(1)?,
        "partnerId": r.get::<_, String>(2)?,
        "amount": r.get::<_, String>(3)?,
        "currency": r.get::<_, String>(4)?,
        "method": r.get::<_, String>(5)?,
        "status": r.get::<_, String>(6)?,
        "metadata": {"runId": r.get::<_, String>(7)?, "commissionCount": r.get::<_, i64>(8)?},
        "createdAt": r.get::<_, String>(9)?,
        "completedAt": r.get::<_, Option<String>>(10)?,
    }))
}

/// `POST /payouts/:id/confirm` (404 `payout_not_found`; 409 `not_confirmable`).
pub fn confirm_payout(conn: &Connection, tenant: &str, id: &str, now: &str) -> ApiResult<Value> {
    let status: Option<String> = conn
        .query_row(
            "SELECT status FROM payouts WHERE tenant_id = ?1 AND id = ?2",
            params![tenant, id],
            |r| r.get(0),
        )
        .optional()?;
    match status.as_deref() {
        None => return Err(ApiError::not_found_code("payout_not_found")),
        Some("pending") => {}
        Some(_) => {
            return Err(ApiError::conflict("not_confirmable")
                .detail("only pending payouts can be confirmed"))
        }
    }
    conn.exec(
        "UPDATE payouts SET status = 'paid', completed_at = ?1 WHERE id = ?2",
        params![now, id],
    )?;
    let p = conn.row(
        &format!("SELECT {PAYOUT_COLS} FROM payouts WHERE id = ?1"),
        [id],
        payout_row,
    )?;
    Ok(json!({ "payout": p }))
}

/// `GET /partners/:id/payouts`: newest 200.
pub fn list_payouts(conn: &Connection, tenant: &str, partner_id: &str) -> ApiResult<Value> {
    let mut st = conn.prepare(&format!(
        "SELECT {PAYOUT_COLS} FROM payouts WHERE tenant_id = ?1 AND partner_id = ?2
         ORDER BY created_at DESC, id DESC LIMIT 200"
    ))?;
    let rows = st.query_map(params![tenant, partner_id], payout_row)?;
    let payouts: Vec<Value> = rows.collect::<rusqlite::Result<_>>()?;
    Ok(json!({ "payouts": payouts }))
}

// ---------------------------------------------------------------------------------------
// HTTP handlers

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;

use crate::auth::{Auth, Scope};
use crate::routes::common::{admin_action, db_json};
use crate::state::AppState;
use crate::tenancy::Tenant;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/commissions", get(h_list))
        .route("/partners/{id}/commissions", get(h_partner_list))
        .route(
            "/commissions/{id}/approve",
            post(|s, t, a, p| admin_action(s, t, a, p, approve)),
        )
        .route(
            "/commissions/{id}/reverse",
            post(|s, t, a, p| admin_action(s, t, a, p, reverse)),
        )
        .route("/payouts/run", post(h_run))
        .route(
            "/payouts/{id}/confirm",
            post(|s, t, a, p| admin_action(s, t, a, p, |c, t, i, n| confirm_payout(c, t, i, n))),
        )
        .route("/partners/{id}/payouts", get(h_payouts))
}

type JsonOut = ApiResult<crate::respond::Reply<Value>>;

async fn h_list(State(st): State<AppState>, tenant: Tenant, auth: Auth, q: QueryParams) -> JsonOut {
    auth.require_scope(Scope::CommissionsRead)?;
    let lq = parse_list_query(&q, st.ext(), true)?;
    db_json(&st, move |c| list(c, &tenant.id, None, &lq)).await
}

fn ensure_partner(c: &Connection, tenant: &str, id: &str) -> ApiResult<()> {
    if crate::routes::programs::partner_exists(c, tenant, id)? {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

async fn h_partner_list(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    q: QueryParams,
) -> JsonOut {
    auth.require_scope_or_partner(Scope::CommissionsRead, &id)?;
    let lq = parse_list_query(&q, st.ext(), false)?;
    db_json(&st, move |c| {
        ensure_partner(c, &tenant.id, &id)?;
        list(c, &tenant.id, Some(&id), &lq)
    })
    .await
}

async fn h_run(State(st): State<AppState>, tenant: Tenant, auth: Auth) -> JsonOut {
    auth.require_admin()?;
    let now = st.now_iso();
    db_json(&st, move |c| run_payouts(c, &tenant.id, &now, true)).await
}

async fn h_payouts(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> JsonOut {
    auth.require_admin_or_partner(&id)?;
    db_json(&st, move |c| {
        ensure_partner(c, &tenant.id, &id)?;
        list_payouts(c, &tenant.id, &id)
    })
    .await
}
