//! Partner analytics (API.md §3.1): `GET /partners/{id}/dashboard|timeseries|events|
//! customers` (admin, `partners:read`, or the partner itself). Reads in
//! [`crate::store::analytics`].
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
//!   included; `bucket` labels are the bucket's start (`YYYY-MM-DD`); at most
//!   [`MAX_BUCKETS`] buckets;
//! - `/events` is newest event first; `/customers` is the most recent customer first.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

use axum::extract::{Path, State};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rusqlite::Connection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Scope};
use crate::engine::round_money;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::respond::{self, Reply};
use crate::state::AppState;
use crate::store;
use crate::tenancy::Tenant;
use crate::util::{fmt_ts, parse_ts};
use crate::wire::query;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard))
        .routes(routes!(timeseries))
        .routes(routes!(events))
        .routes(routes!(customers))
}

/// Most buckets a timeseries answers.
pub const MAX_BUCKETS: i64 = 2000;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or(Decimal::ZERO)
}

/// Runs `f` for partner `id` as the request's one job, after the 404 check.
async fn for_partner<T, F>(
    state: &AppState,
    tenant: Tenant,
    id: String,
    f: F,
) -> ApiResult<Reply<T>>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Connection, &str, &str) -> ApiResult<T> + Send + 'static,
{
    respond::ok(state, move |c| {
        if !store::partners::exists(c, &tenant.id, &id)? {
            return Err(ApiError::not_found());
        }
        f(c, &tenant.id, &id)
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Dashboard

/// `GET /partners/{id}/dashboard` query.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DashboardQuery {
    /// Start (ISO-8601 or `YYYY-MM-DD`); default 30 days ago.
    pub since: Option<String>,
}

/// Σ commission amount per status (a status without commissions is absent).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CommissionByStatus {
    /// Σ accrued.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_number")]
    #[schema(value_type = Option<f64>)]
    pub accrued: Option<Decimal>,
    /// Σ approved.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_number")]
    #[schema(value_type = Option<f64>)]
    pub approved: Option<Decimal>,
    /// Σ paid.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_number")]
    #[schema(value_type = Option<f64>)]
    pub paid: Option<Decimal>,
    /// Σ reversed.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_number")]
    #[schema(value_type = Option<f64>)]
    pub reversed: Option<Decimal>,
}

fn opt_number<S: serde::Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => crate::wire::money::number(d, s),
        None => s.serialize_none(),
    }
}

/// The dashboard.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// The partner.
    pub partner_id: String,
    /// The start used (ISO-8601).
    pub since: String,
    /// Clicks on the partner's links since then (flagged included).
    pub clicks: i64,
    /// Distinct events attributed to the partner.
    pub attributed_events: usize,
    /// Σ value × stored weight, rounded to cents.
    #[serde(serialize_with = "crate::wire::money::number")]
    #[schema(value_type = f64)]
    pub attributed_revenue: Decimal,
    /// Σ commission amount per status.
    pub commission_by_status: CommissionByStatus,
}

/// A partner's dashboard since `since`.
#[utoipa::path(get, path = "/partners/{id}/dashboard", tag = "analytics",
    params(("id" = String, Path, description = "Partner id"), DashboardQuery),
    responses(
        (status = 200, description = "The dashboard", body = Dashboard),
        (status = 404, description = "not_found: no such partner", body = crate::error::ErrorBody)))]
async fn dashboard(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<DashboardQuery>,
) -> ApiResult<Reply<Dashboard>> {
    auth.require_scope_or_partner(Scope::PartnersRead, &id)?;
    let now = state.clock.now();
    let since =
        fmt_ts(query::timestamp("since", q.since.as_deref())?.unwrap_or(now - Duration::days(30)));
    for_partner(&state, tenant, id, move |c, tenant, partner| {
        let clicks = store::analytics::click_count_since(c, tenant, partner, &since)?;
        let mut events = HashSet::new();
        let mut revenue = Decimal::ZERO;
        for (eid, v, w) in store::analytics::attributed_values_since(c, tenant, partner, &since)? {
            revenue += dec(&v) * dec(&w);
            events.insert(eid);
        }
        let mut by_status: BTreeMap<String, Decimal> = BTreeMap::new();
        for (s, a) in store::analytics::commission_amounts_since(c, tenant, partner, &since)? {
            *by_status.entry(s).or_default() += dec(&a);
        }
        let sum = |s: &str| by_status.get(s).map(|v| round_money(*v));
        Ok(Dashboard {
            partner_id: partner.to_owned(),
            since,
            clicks,
            attributed_events: events.len(),
            attributed_revenue: round_money(revenue),
            commission_by_status: CommissionByStatus {
                accrued: sum("accrued"),
                approved: sum("approved"),
                paid: sum("paid"),
                reversed: sum("reversed"),
            },
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Timeseries

/// `GET /partners/{id}/timeseries` query.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct TimeseriesQuery {
    /// Start (ISO-8601 or `YYYY-MM-DD`); default 30 days before `until`.
    pub since: Option<String>,
    /// End, exclusive; default now.
    pub until: Option<String>,
    /// Only this program.
    pub program_id: Option<String>,
    /// `day` | `week`; default `week` for ranges over 90 days. At most 2000 buckets.
    #[param(pattern = "^(day|week)$")]
    pub bucket: Option<String>,
}

/// One bucket.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Bucket {
    /// Start of the bucket (`YYYY-MM-DD`).
    pub bucket: String,
    /// Clicks.
    pub clicks: i64,
    /// Attributed events with value 0.
    pub leads: i64,
    /// Attributed events with value > 0.
    pub sales: i64,
    /// Σ value × stored weight, rounded to cents.
    #[serde(serialize_with = "crate::wire::money::number")]
    #[schema(value_type = f64)]
    pub revenue: Decimal,
    /// Σ non-reversed commissions, rounded to cents.
    #[serde(serialize_with = "crate::wire::money::number")]
    #[schema(value_type = f64)]
    pub earnings: Decimal,
}

/// The timeseries.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Timeseries {
    /// The partner.
    pub partner_id: String,
    /// Start used (ISO-8601).
    pub since: String,
    /// End used (ISO-8601).
    pub until: String,
    /// `day` or `week`.
    pub bucket: &'static str,
    /// Every bucket from `since` to `until`, empty ones included.
    pub buckets: Vec<Bucket>,
}

fn bucket_start(t: DateTime<Utc>, week: bool) -> NaiveDate {
    let d = t.date_naive();
    if week {
        d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
    } else {
        d
    }
}

/// A partner's clicks, leads, sales, revenue and earnings per day or week.
#[utoipa::path(get, path = "/partners/{id}/timeseries", tag = "analytics",
    params(("id" = String, Path, description = "Partner id"), TimeseriesQuery),
    responses(
        (status = 200, description = "The buckets", body = Timeseries),
        (status = 400, description = "invalid_query (bad time, since after until, bucket, more than 2000 buckets)", body = crate::error::ErrorBody),
        (status = 404, description = "not_found: no such partner", body = crate::error::ErrorBody)))]
async fn timeseries(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<TimeseriesQuery>,
) -> ApiResult<Reply<Timeseries>> {
    auth.require_scope_or_partner(Scope::PartnersRead, &id)?;
    let now = state.clock.now();
    let until = query::timestamp("until", q.until.as_deref())?.unwrap_or(now);
    let since =
        query::timestamp("since", q.since.as_deref())?.unwrap_or(until - Duration::days(30));
    if since > until {
        return Err(ApiError::query_field("since", "must not be after until"));
    }
    let week = match query::nonempty(q.bucket).as_deref() {
        None => until - since > Duration::days(90),
        Some("day") => false,
        Some("week") => true,
        Some(_) => return Err(ApiError::query_field("bucket", "Expected 'day' | 'week'")),
    };
    let step = Duration::days(if week { 7 } else { 1 });
    let first = bucket_start(since, week);
    let last = bucket_start(until, week);
    let n = (last - first).num_days() / step.num_days() + 1;
    if n > MAX_BUCKETS {
        return Err(ApiError::query_field(
            "bucket",
            "too many buckets for this range; use week or a shorter range",
        ));
    }
    let program = query::nonempty(q.program_id);
    for_partner(&state, tenant, id, move |c, tenant, partner| {
        let mut buckets: BTreeMap<NaiveDate, Bucket> = BTreeMap::new();
        let mut d = first;
        while d <= last {
            buckets.insert(d, Bucket::default());
            d += step;
        }
        let (s, u) = (fmt_ts(since), fmt_ts(until));
        let program = program.as_deref();
        for ts in store::analytics::click_times(c, tenant, partner, &s, &u, program)? {
            if let Some(t) = parse_ts(&ts) {
                if let Some(b) = buckets.get_mut(&bucket_start(t, week)) {
                    b.clicks += 1;
                }
            }
        }
        let mut seen = HashSet::new();
        for row in store::analytics::timeseries_rows(c, tenant, partner, &s, &u, program)? {
            let Some(t) = parse_ts(&row.ts) else { continue };
            let Some(b) = buckets.get_mut(&bucket_start(t, week)) else {
                continue;
            };
            let v = dec(&row.value);
            if seen.insert(row.event_id) {
                if v > Decimal::ZERO {
                    b.sales += 1;
                } else {
                    b.leads += 1;
                }
            }
            b.revenue += v * dec(&row.weight);
            for a in &row.amounts {
                b.earnings += dec(a);
            }
        }
        Ok(Timeseries {
            partner_id: partner.to_owned(),
            since: s,
            until: u,
            bucket: if week { "week" } else { "day" },
            buckets: buckets
                .into_iter()
                .map(|(d, b)| Bucket {
                    bucket: d.format("%Y-%m-%d").to_string(),
                    revenue: round_money(b.revenue),
                    earnings: round_money(b.earnings),
                    ..b
                })
                .collect(),
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Events and customers

/// `GET /partners/{id}/events` query.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only attributions of this program.
    pub program_id: Option<String>,
    /// Only events of this type.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// Events at or after (ISO-8601 or `YYYY-MM-DD`).
    pub since: Option<String>,
    /// Events before (ISO-8601 or `YYYY-MM-DD`).
    pub until: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Rows to skip (default 0).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub offset: Option<String>,
}

/// The click of an attributed event.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventClick {
    /// Click id.
    pub id: String,
    /// Link key.
    pub link_key: Option<String>,
    /// Referer.
    pub referer: Option<String>,
    /// Landing URL.
    pub landing_url: Option<String>,
    /// Click time (ISO-8601).
    pub ts: Option<String>,
}

/// One attribution of the partner with its event.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributedEvent {
    /// Attribution id.
    pub attribution_id: String,
    /// Stored weight, an exact JSON number.
    #[serde(serialize_with = "crate::wire::money::number")]
    #[schema(value_type = f64)]
    pub weight: Decimal,
    /// Model.
    pub model: String,
    /// Event id.
    pub event_id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Event value, an exact JSON number.
    #[serde(serialize_with = "crate::wire::money::number")]
    #[schema(value_type = f64)]
    pub value: Decimal,
    /// Currency.
    pub currency: String,
    /// Event time (ISO-8601).
    pub ts: String,
    /// The event's user.
    pub user_id: String,
    /// The click; `null` when it no longer exists.
    pub click: Option<EventClick>,
}

/// A page of attributed events.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributedEvents {
    /// The partner.
    pub partner_id: String,
    /// Newest event first.
    pub events: Vec<AttributedEvent>,
    /// Page size used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
}

/// A partner's attributed events, newest first.
#[utoipa::path(get, path = "/partners/{id}/events", tag = "analytics",
    params(("id" = String, Path, description = "Partner id"), EventsQuery),
    responses(
        (status = 200, description = "A page of attributed events", body = AttributedEvents),
        (status = 404, description = "not_found: no such partner", body = crate::error::ErrorBody)))]
async fn events(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<EventsQuery>,
) -> ApiResult<Reply<AttributedEvents>> {
    auth.require_scope_or_partner(Scope::PartnersRead, &id)?;
    let limit = query::int_in("limit", q.limit.as_deref(), 1, 200, 50)?;
    let offset = query::int_in("offset", q.offset.as_deref(), 0, i64::MAX, 0)?;
    let filter = store::analytics::EventFilter {
        program_id: query::nonempty(q.program_id),
        event_type: query::nonempty(q.event_type),
        since: query::timestamp("since", q.since.as_deref())?.map(fmt_ts),
        until: query::timestamp("until", q.until.as_deref())?.map(fmt_ts),
    };
    for_partner(&state, tenant, id, move |c, tenant, partner| {
        let rows = store::analytics::attributed_events(c, tenant, partner, &filter, limit, offset)?;
        Ok(AttributedEvents {
            partner_id: partner.to_owned(),
            events: rows
                .into_iter()
                .map(|r| AttributedEvent {
                    attribution_id: r.attribution_id,
                    weight: dec(&r.weight),
                    model: r.model,
                    event_id: r.event_id,
                    event_type: r.event_type,
                    value: dec(&r.value),
                    currency: r.currency,
                    ts: r.ts,
                    user_id: r.user_id,
                    click: r.click.map(|k| EventClick {
                        id: k.id,
                        link_key: k.link_key,
                        referer: k.referer,
                        landing_url: k.landing_url,
                        ts: k.ts,
                    }),
                })
                .collect(),
            limit,
            offset,
        })
    })
    .await
}

/// `GET /partners/{id}/customers` query.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CustomersQuery {
    /// Only attributions of this program.
    pub program_id: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Rows to skip (default 0).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub offset: Option<String>,
}

/// One customer of the partner.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// The user id.
    pub user_id: String,
    /// First attributed event (ISO-8601).
    pub first_event_at: String,
    /// Last attributed event (ISO-8601).
    pub last_event_at: String,
    /// Distinct attributed events.
    pub event_count: i64,
    /// Σ value × stored weight, rounded to cents.
    #[serde(serialize_with = "crate::wire::money::number")]
    #[schema(value_type = f64)]
    pub revenue: Decimal,
}

/// A page of customers.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Customers {
    /// The partner.
    pub partner_id: String,
    /// Most recent customer first.
    pub customers: Vec<Customer>,
    /// Page size used.
    pub limit: i64,
    /// Offset used.
    pub offset: i64,
}

/// A partner's customers (users with attributed events), most recent first.
#[utoipa::path(get, path = "/partners/{id}/customers", tag = "analytics",
    params(("id" = String, Path, description = "Partner id"), CustomersQuery),
    responses(
        (status = 200, description = "A page of customers", body = Customers),
        (status = 404, description = "not_found: no such partner", body = crate::error::ErrorBody)))]
async fn customers(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<CustomersQuery>,
) -> ApiResult<Reply<Customers>> {
    auth.require_scope_or_partner(Scope::PartnersRead, &id)?;
    let limit = query::int_in("limit", q.limit.as_deref(), 1, 200, 50)?;
    let offset = query::int_in("offset", q.offset.as_deref(), 0, i64::MAX, 0)?;
    let program = query::nonempty(q.program_id);
    for_partner(&state, tenant, id, move |c, tenant, partner| {
        let program = program.as_deref();
        let groups = store::analytics::customers(c, tenant, partner, program, limit, offset)?;
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let mut revenue = Decimal::ZERO;
            for (v, w) in
                store::analytics::customer_values(c, tenant, partner, &g.user_id, program)?
            {
                revenue += dec(&v) * dec(&w);
            }
            out.push(Customer {
                user_id: g.user_id,
                first_event_at: g.first_event_at,
                last_event_at: g.last_event_at,
                event_count: g.event_count,
                revenue: round_money(revenue),
            });
        }
        Ok(Customers {
            partner_id: partner.to_owned(),
            customers: out,
            limit,
            offset,
        })
    })
    .await
}
