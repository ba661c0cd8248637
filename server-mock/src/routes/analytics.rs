//! Partner analytics (API.md §3.1): dashboard, timeseries, events, customers.
//!
//! Every aggregate is computed in Rust with `rust_decimal` from the stored decimal
//! strings (never SQL floats) and rendered as an exact JSON number. Revenue is
//! Σ event value × the *stored* 4-dp weight, rounded half-up to cents at the end (three
//! 0.3333 touches on a 300 event → 299.97).
//!
//! Choices where API.md is silent:
//! - time filters apply to the event's `ts` for attributions/revenue/earnings, to the
//!   click's `ts` for clicks, and to `accruedAt` for the dashboard's `commissionByStatus`;
//!   `since` is inclusive, `until` exclusive;
//! - dashboard `clicks` counts every click (flagged ones included) on the partner's links;
//! - timeseries: `leads` = attributed events with value 0, `sales` = attributed events with
//!   value > 0, `earnings` = non-reversed commissions of those attributions; buckets run
//!   from `since` to `until` (UTC days; weeks start on Monday) and empty buckets are
//!   included; `bucket` labels are the bucket's start (`YYYY-MM-DD`); at most 2000 buckets;
//! - `/events` is newest event first; `/customers` is the most recent customer first.

use crate::db::ConnExt;
use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::engine::round_money;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryParams;
use crate::rules::dec_number;
use crate::util::{fmt_ts, parse_ts};

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or(Decimal::ZERO)
}

/// A query timestamp: ISO-8601 with offset, or a bare `YYYY-MM-DD` (UTC midnight).
pub fn query_ts(q: &QueryParams, name: &str) -> ApiResult<Option<DateTime<Utc>>> {
    match q.string(name) {
        None => Ok(None),
        Some(s) => parse_ts(&s)
            .or_else(|| {
                NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc())
            })
            .map(Some)
            .ok_or_else(|| ApiError::query_field(name, "Invalid datetime")),
    }
}

fn ts_q(q: &QueryParams, name: &str) -> ApiResult<Option<DateTime<Utc>>> {
    query_ts(q, name)
}

/// `GET /partners/:id/dashboard?since=`.
pub fn dashboard(
    conn: &Connection,
    tenant: &str,
    partner: &str,
    q: &QueryParams,
    now: DateTime<Utc>,
) -> ApiResult<Value> {
    let since = fmt_ts(ts_q(q, "since")?.unwrap_or(now - Duration::days(30)));
    let clicks: i64 = conn.row(
        "SELECT COUNT(*) FROM clicks WHERE tenant_id = ?1 AND partner_id = ?2 AND ts >= ?3",
        params![tenant, partner, since],
        |r| r.get(0),
    )?;
    let mut st = conn.prepare(
        "SELECT a.event_id, e.value, a.weight FROM attributions a JOIN events e ON e.id = a.event_id
         WHERE a.tenant_id = ?1 AND a.partner_id = ?2 AND e.ts >= ?3",
    )?;
    let rows = st.query_map(params![tenant, partner, since], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut events = HashSet::new();
    let mut revenue = Decimal::ZERO;
    for row in rows {
        let (eid, v, w) = row?;
        revenue += dec(&v) * dec(&w);
        events.insert(eid);
    }
    let mut st = conn.prepare(
        "SELECT status, amount FROM commissions WHERE tenant_id = ?1 AND partner_id = ?2 AND accrued_at >= ?3",
    )?;
    let rows = st.query_map(params![tenant, partner, since], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut by_status: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in rows {
        let (s, a) = row?;
        *by_status.entry(s).or_default() += dec(&a);
    }
    let mut cbs = Map::new();
    for s in ["accrued", "approved", "paid", "reversed"] {
        if let Some(v) = by_status.get(s) {
            cbs.insert(s.into(), dec_number(round_money(*v)));
        }
    }
    Ok(json!({
        "partnerId": partner,
        "since": since,
        "clicks": clicks,
        "attributedEvents": events.len(),
        "attributedRevenue": dec_number(round_money(revenue)),
        "commissionByStatus": cbs,
    }))
}

fn bucket_start(t: DateTime<Utc>, week: bool) -> NaiveDate {
    let d = t.date_naive();
    if week {
        d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
    } else {
        d
    }
}

/// `GET /partners/:id/timeseries?since&until&programId&bucket=day|week`.
pub fn timeseries(
    conn: &Connection,
    tenant: &str,
    partner: &str,
    q: &QueryParams,
    now: DateTime<Utc>,
) -> ApiResult<Value> {
    let until = ts_q(q, "until")?.unwrap_or(now);
    let since = ts_q(q, "since")?.unwrap_or(until - Duration::days(30));
    if since > until {
        return Err(ApiError::query_field("since", "must not be after until"));
    }
    let week = match q.string("bucket").as_deref() {
        None => until - since > Duration::days(90),
        Some("day") => false,
        Some("week") => true,
        Some(_) => return Err(ApiError::query_field("bucket", "Expected 'day' | 'week'")),
    };
    let step = Duration::days(if week { 7 } else { 1 });
    let first = bucket_start(since, week);
    let last = bucket_start(until, week);
    let n = (last - first).num_days() / step.num_days() + 1;
    if n > 2000 {
        return Err(ApiError::query_field(
            "bucket",
            "too many buckets for this range; use week or a shorter range",
        ));
    }
    #[derive(Default)]
    struct B {
        clicks: i64,
        leads: i64,
        sales: i64,
        revenue: Decimal,
        earnings: Decimal,
    }
    let mut buckets: BTreeMap<NaiveDate, B> = BTreeMap::new();
    let mut d = first;
    while d <= last {
        buckets.insert(d, B::default());
        d += step;
    }
    let program = q.string("programId");
    let (s, u) = (fmt_ts(since), fmt_ts(until));
    let mut st = conn.prepare(
        "SELECT ts FROM clicks WHERE tenant_id = ?1 AND partner_id = ?2 AND ts >= ?3 AND ts < ?4
           AND (?5 IS NULL OR program_id = ?5)",
    )?;
    let rows = st.query_map(params![tenant, partner, s, u, program], |r| {
        r.get::<_, String>(0)
    })?;
    for ts in rows {
        if let Some(t) = parse_ts(&ts?) {
            if let Some(b) = buckets.get_mut(&bucket_start(t, week)) {
                b.clicks += 1;
            }
        }
    }
    let mut st = conn.prepare(
        "SELECT a.id, a.event_id, e.ts, e.value, a.weight,
                (SELECT group_concat(c.amount, ' ') FROM commissions c
                  WHERE c.attribution_id = a.id AND c.status <> 'reversed')
         FROM attributions a JOIN events e ON e.id = a.event_id
         WHERE a.tenant_id = ?1 AND a.partner_id = ?2 AND e.ts >= ?3 AND e.ts < ?4
           AND (?5 IS NULL OR a.program_id = ?5)",
    )?;
    let rows = st.query_map(params![tenant, partner, s, u, program], |r| {
        Ok((
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut seen = HashSet::new();
    for row in rows {
        let (eid, ts, value, weight, amounts) = row?;
        let Some(t) = parse_ts(&ts) else { continue };
        let Some(b) = buckets.get_mut(&bucket_start(t, week)) else {
            continue;
        };
        let v = dec(&value);
        if seen.insert(eid) {
            if v > Decimal::ZERO {
                b.sales += 1;
            } else {
                b.leads += 1;
            }
        }
        b.revenue += v * dec(&weight);
        for a in amounts.unwrap_or_default().split_whitespace() {
            b.earnings += dec(a);
        }
    }
    let out: Vec<Value> = buckets
        .into_iter()
        .map(|(d, b)| {
            json!({
                "bucket": d.format("%Y-%m-%d").to_string(),
                "clicks": b.clicks,
                "leads": b.leads,
                "sales": b.sales,
                "revenue": dec_number(round_money(b.revenue)),
                "earnings": dec_number(round_money(b.earnings)),
            })
        })
        .collect();
    Ok(json!({
        "partnerId": partner,
        "since": s,
        "until": u,
        "bucket": if week { "week" } else { "day" },
        "buckets": out,
    }))
}

/// `GET /partners/:id/events?programId&type&since&until&limit&offset`.
pub fn events(conn: &Connection, tenant: &str, partner: &str, q: &QueryParams) -> ApiResult<Value> {
    let limit = q.int_in("limit", 1, 200, 50)?;
    let offset = q.int_in("offset", 0, i64::MAX, 0)?;
    let mut wh = vec!["a.tenant_id = ?".to_owned(), "a.partner_id = ?".to_owned()];
    let mut args: Vec<Sql> = vec![Sql::Text(tenant.into()), Sql::Text(partner.into())];
    if let Some(p) = q.string("programId") {
        wh.push("a.program_id = ?".into());
        args.push(Sql::Text(p));
    }
    if let Some(t) = q.string("type") {
        wh.push("e.type = ?".into());
        args.push(Sql::Text(t));
    }
    if let Some(s) = ts_q(q, "since")? {
        wh.push("e.ts >= ?".into());
        args.push(Sql::Text(fmt_ts(s)));
    }
    if let Some(u) = ts_q(q, "until")? {
        wh.push("e.ts < ?".into());
        args.push(Sql::Text(fmt_ts(u)));
    }
    args.push(Sql::Integer(limit));
    args.push(Sql::Integer(offset));
    let sql = format!(
        "SELECT a.id, a.weight, a.model, e.id, e.type, e.value, e.currency, e.ts, e.user_id,
                c.id, c.link_key, c.referer, c.landing_url, c.ts
         FROM attributions a JOIN events e ON e.id = a.event_id LEFT JOIN clicks c ON c.id = a.click_id
         WHERE {} ORDER BY e.ts DESC, a.id DESC LIMIT ? OFFSET ?",
        wh.join(" AND ")
    );
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map(params_from_iter(args), |r| {
        let click_id: Option<String> = r.get(9)?;
        let click = match click_id {
            Some(id) => json!({
                "id": id,
                "linkKey": r.get::<_, Option<String>>(10)?,
                "referer": r.get::<_, Option<String>>(11)?,
                "landingUrl": r.get::<_, Option<String>>(12)?,
                "ts": r.get::<_, Option<String>>(13)?,
            }),
            None => Value::Null,
        };
        Ok(json!({
            "attributionId": r.get::<_, String>(0)?,
            "weight": dec_number(dec(&r.get::<_, String>(1)?)),
            "model": r.get::<_, String>(2)?,
            "eventId": r.get::<_, String>(3)?,
            "type": r.get::<_, String>(4)?,
            "value": dec_number(dec(&r.get::<_, String>(5)?)),
            "currency": r.get::<_, String>(6)?,
            "ts": r.get::<_, String>(7)?,
            "userId": r.get::<_, String>(8)?,
            "click": click,
        }))
    })?;
    let events: Vec<Value> = rows.collect::<rusqlite::Result<_>>()?;
    Ok(json!({"partnerId": partner, "events": events, "limit": limit, "offset": offset}))
}

/// `GET /partners/:id/customers?programId&limit&offset`.
pub fn customers(
    conn: &Connection,
    tenant: &str,
    partner: &str,
    q: &QueryParams,
) -> ApiResult<Value> {
    let limit = q.int_in("limit", 1, 200, 50)?;
    let offset = q.int_in("offset", 0, i64::MAX, 0)?;
    let program = q.string("programId");
    let mut st = conn.prepare(
        "SELECT e.user_id, MIN(e.ts), MAX(e.ts), COUNT(DISTINCT e.id)
         FROM attributions a JOIN events e ON e.id = a.event_id
         WHERE a.tenant_id = ?1 AND a.partner_id = ?2 AND (?3 IS NULL OR a.program_id = ?3)
         GROUP BY e.user_id ORDER BY MAX(e.ts) DESC, e.user_id LIMIT ?4 OFFSET ?5",
    )?;
    let rows = st.query_map(params![tenant, partner, program, limit, offset], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let groups: Vec<(String, String, String, i64)> = rows.collect::<rusqlite::Result<_>>()?;
    let mut rev = conn.prepare_cached(
        "SELECT e.value, a.weight FROM attributions a JOIN events e ON e.id = a.event_id
         WHERE a.tenant_id = ?1 AND a.partner_id = ?2 AND e.user_id = ?3 AND (?4 IS NULL OR a.program_id = ?4)",
    )?;
    let mut out = Vec::with_capacity(groups.len());
    for (user, first, last, count) in groups {
        let rows = rev.query_map(params![tenant, partner, user, program], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut revenue = Decimal::ZERO;
        for row in rows {
            let (v, w) = row?;
            revenue += dec(&v) * dec(&w);
        }
        out.push(json!({
            "userId": user,
            "firstEventAt": first,
            "lastEventAt": last,
            "eventCount": count,
            "revenue": dec_number(round_money(revenue)),
        }));
    }
    Ok(json!({"partnerId": partner, "customers": out, "limit": limit, "offset": offset}))
}

// ---------------------------------------------------------------------------------------
// HTTP handlers

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;

use crate::auth::{Auth, Scope};
use crate::routes::common::db_json;
use crate::state::AppState;
use crate::tenancy::Tenant;

/// Routes of this module (A, `partners:read`, P).
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/partners/{id}/dashboard",
            get(|s, t, a, p, q| run(s, t, a, p, q, Which::Dashboard)),
        )
        .route(
            "/partners/{id}/timeseries",
            get(|s, t, a, p, q| run(s, t, a, p, q, Which::Timeseries)),
        )
        .route(
            "/partners/{id}/events",
            get(|s, t, a, p, q| run(s, t, a, p, q, Which::Events)),
        )
        .route(
            "/partners/{id}/customers",
            get(|s, t, a, p, q| run(s, t, a, p, q, Which::Customers)),
        )
}

#[derive(Clone, Copy)]
enum Which {
    Dashboard,
    Timeseries,
    Events,
    Customers,
}

/// The four analytics endpoints (`which` one) for partner `id`.
async fn run(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    q: QueryParams,
    which: Which,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_scope_or_partner(Scope::PartnersRead, &id)?;
    let now = st.clock.now();
    db_json(&st, move |c| {
        if !crate::routes::programs::partner_exists(c, &tenant.id, &id)? {
            return Err(ApiError::not_found());
        }
        match which {
            Which::Dashboard => dashboard(c, &tenant.id, &id, &q, now),
            Which::Timeseries => timeseries(c, &tenant.id, &id, &q, now),
            Which::Events => events(c, &tenant.id, &id, &q),
            Which::Customers => customers(c, &tenant.id, &id, &q),
        }
    })
    .await
}
