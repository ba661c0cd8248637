//! `POST /attribution/events` (API.md §3.4): stores the event and runs the attribution
//! engine ([`crate::engine`] through [`crate::attribution`]) in one transaction, emitting
//! `attribution.created` / `commission.accrued` through the core's outbox hook.
//!
//! Validation choices (API.md gives the shape only): `userId` 1–256 chars, `type` 1–80
//! chars, `value` a JSON number or numeric string ≥ 0, `currency` 3 ASCII letters
//! (upper-cased; default `USD`), `metadata` an object, `ts` an ISO-8601 timestamp
//! (default now).

use crate::db::ConnExt;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::attribution::{self, NewEvent};
use crate::error::{ApiError, ApiResult, Validation};
use crate::rules::decimal_of;
use crate::util::{fmt_ts, new_id, parse_ts};

/// Validates the body into a [`NewEvent`] (ts defaults to `now`).
pub fn parse_event(tenant: &str, body: &Value, now: DateTime<Utc>) -> ApiResult<NewEvent> {
    let mut v = Validation::new();
    if body.as_object().is_none() {
        v.push_form("Expected an object");
    }
    let user_id = required_str(
        &mut v,
        body,
        "userId",
        |s| (1..=256).contains(&s.chars().count()),
        "Expected a string of 1-256 characters",
    );
    let event_type = required_str(
        &mut v,
        body,
        "type",
        |s| (1..=80).contains(&s.chars().count()),
        "Expected a string of 1-80 characters",
    );
    let value = match body.get("value") {
        None | Some(Value::Null) => None,
        Some(x) => match decimal_of(x) {
            Some(d) if d >= Decimal::ZERO && d < Decimal::from(1_000_000_000_000i64) => Some(d),
            _ => {
                v.push("value", "Expected a number >= 0");
                None
            }
        },
    };
    let currency = match body.get("currency") {
        None | Some(Value::Null) => "USD".to_owned(),
        Some(Value::String(s)) if s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic()) => {
            s.to_ascii_uppercase()
        }
        Some(_) => {
            v.push("currency", "Expected a 3-letter currency code");
            String::new()
        }
    };
    let metadata = match body.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m @ Value::Object(_)) => Some(m.clone()),
        Some(_) => {
            v.push("metadata", "Expected an object");
            None
        }
    };
    let ts = match body.get("ts") {
        None | Some(Value::Null) => now,
        Some(Value::String(s)) => parse_ts(s).unwrap_or_else(|| {
            v.push("ts", "Invalid datetime");
            now
        }),
        Some(_) => {
            v.push("ts", "Expected an ISO-8601 datetime");
            now
        }
    };
    v.finish_body()?;
    Ok(NewEvent {
        id: new_id(),
        tenant_id: tenant.to_owned(),
        user_id,
        event_type,
        value,
        currency,
        metadata,
        ts,
    })
}

/// Stores and attributes one event, emitting its webhook events; returns the body.
pub fn track_event(conn: &mut Connection, ev: &NewEvent, now: DateTime<Utc>) -> ApiResult<Value> {
    let tx = conn.savepoint()?;
    attribution::insert_event(&tx, ev, now)?;
    let run =
        attribution::attribute_stored_event(&tx, &ev.id, now)?.ok_or_else(ApiError::internal)?;
    let now_iso = fmt_ts(now);
    for e in &run.emits {
        crate::outbox::emit(&tx, &ev.tenant_id, e.event_type, e.data.clone(), &now_iso)?;
    }
    tx.commit()?;
    Ok(json!({
        "ok": true,
        "eventId": ev.id,
        "attribution": run.attribution_json(),
    }))
}

/// `POST /attribution/identify`: stitches `(cref, userId)`; on a first stitch re-runs the
/// user's past events in time order. Returns the body.
pub fn identify(
    conn: &mut Connection,
    tenant: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> ApiResult<Value> {
    let mut v = Validation::new();
    if body.as_object().is_none() {
        v.push_form("Expected an object");
    }
    let cref = required_str(
        &mut v,
        body,
        "cref",
        |s| !s.is_empty() && s.len() <= 256,
        "Expected a non-empty string",
    );
    let user_id = required_str(
        &mut v,
        body,
        "userId",
        |s| (1..=256).contains(&s.chars().count()),
        "Expected a non-empty string",
    );
    match body.get("ts") {
        None | Some(Value::Null) | Some(Value::Number(_)) => {}
        Some(_) => v.push("ts", "Expected epoch milliseconds"),
    }
    v.finish_body()?;
    let tx = conn.savepoint()?;
    let click_exists: bool = tx.row(
        "SELECT EXISTS(SELECT 1 FROM clicks WHERE tenant_id = ?1 AND id = ?2)",
        rusqlite::params![tenant, cref],
        |r| r.get(0),
    )?;
    if !click_exists {
        return Err(ApiError::not_found_code("click_not_found"));
    }
    let id = new_id();
    let now_iso = fmt_ts(now);
    let inserted = tx.exec(
        "INSERT OR IGNORE INTO identities (id, tenant_id, click_id, user_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![id, tenant, cref, user_id, now_iso],
    )?;
    if inserted == 0 {
        return Ok(
            json!({"ok": true, "identityId": null, "firstStitch": false, "backfilledAttributions": 0}),
        );
    }
    let runs = attribution::rerun_user_events(&tx, tenant, &user_id, now)?;
    // One per re-run event that ended `attributed` (API.md §3.3), not per touch written.
    let backfilled = runs.iter().filter(|run| run.is_attributed()).count();
    for run in &runs {
        for e in &run.emits {
            crate::outbox::emit(&tx, tenant, e.event_type, e.data.clone(), &now_iso)?;
        }
    }
    tx.commit()?;
    Ok(
        json!({"ok": true, "identityId": id, "firstStitch": true, "backfilledAttributions": backfilled}),
    )
}

// ---------------------------------------------------------------------------------------
// HTTP handlers

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::auth::{Auth, Scope};
use crate::extract::Json;
use crate::routes::common::{db_json, required_str};
use crate::state::AppState;
use crate::tenancy::Tenant;

/// Authenticated routes: `POST /attribution/events`.
pub fn router() -> Router<AppState> {
    Router::new().route("/attribution/events", post(h_track))
}

/// Tenant routes that never read credentials: `POST|OPTIONS /attribution/identify`.
pub fn open_router() -> Router<AppState> {
    Router::new().route(
        IDENTIFY_PATH,
        post(h_identify).options(h_identify_preflight),
    )
}

async fn h_track(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<Value>,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_scope(Scope::EventsWrite)?;
    let now = st.clock.now();
    let ev = parse_event(&tenant.id, &body, now)?;
    db_json(&st, move |c| track_event(c, &ev, now)).await
}

/// Path (after tenant stripping) of the one browser-facing route, which answers CORS.
pub const IDENTIFY_PATH: &str = "/attribution/identify";

/// Response headers a browser script may read on identify's answers besides the
/// CORS-safelisted ones: the rate-limit headers (so a throttled page knows when to come
/// back) and the request id.
const EXPOSED_HEADERS: &str = "retry-after, ratelimit, ratelimit-policy, x-ratelimit-limit, \
x-ratelimit-remaining, x-ratelimit-reset, x-request-id, openpartner-extensions";

pub(crate) fn cors(mut resp: Response, preflight: bool) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
    if preflight {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
    }
    resp
}

/// Router-wide layer (outermost in [`crate::routes::build_with`], inside tenant
/// resolution): every response to [`IDENTIFY_PATH`] carries the CORS headers, whoever made
/// it — the handler, the rate limiter's 429, `require_tenant`'s 400
/// `tenant_slug_missing`, a 405 for another method, a 413/400 body rejection, or the panic
/// guard's 500 — so a browser can read the error instead of seeing an opaque network
/// failure. `OPTIONS` responses also get the preflight headers. Other paths pass untouched.
pub async fn identify_cors(req: Request, next: Next) -> Response {
    if req.uri().path() != IDENTIFY_PATH {
        return next.run(req).await;
    }
    let preflight = req.method() == Method::OPTIONS;
    cors(next.run(req).await, preflight)
}

/// Identify never reads `Authorization` or cookies (no `Auth` extractor here, and the
/// route sits outside the authenticating group).
async fn h_identify(
    State(st): State<AppState>,
    tenant: Tenant,
    body: Result<Json<Value>, ApiError>,
) -> Response {
    let result = async {
        let Json(body) = body?;
        let now = st.clock.now();
        st.db
            .call(move |c| identify(c, &tenant.id, &body, now))
            .await
    }
    .await;
    // CORS headers are added by [`identify_cors`], for this and every earlier response.
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `OPTIONS /attribution/identify`: 204; [`identify_cors`] adds the preflight headers.
async fn h_identify_preflight() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
