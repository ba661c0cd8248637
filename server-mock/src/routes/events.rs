//! `POST /attribution/events` (API.md §3.4): stores the event and runs the attribution
//! engine ([`crate::engine`] through [`crate::attribution`]) in the request's one job,
//! emitting `attribution.created` / `commission.accrued` through the outbox; and
//! `POST|OPTIONS /attribution/identify` (API.md §3.3, no authentication, CORS).
//!
//! Validation choices (API.md gives the shape only): `userId` 1–256 chars, `type` 1–80
//! chars, `value` a JSON number or numeric string ≥ 0 and < 10¹², `currency` 3 ASCII
//! letters (upper-cased; default `USD`), `metadata` an object, `ts` an ISO-8601 timestamp
//! (default now). `null` is the same as an absent field. Every bad field of a body is
//! reported in one 400 `invalid_body`.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::attribution::{self, AttributionOutcome, NewEvent};
use crate::auth::{Auth, Scope};
use crate::error::{ApiError, ApiResult, Validation};
use crate::extract::Json;
use crate::respond::{self, Reply};
use crate::rules::decimal_of;
use crate::state::AppState;
use crate::store;
use crate::tenancy::Tenant;
use crate::util::{fmt_ts, new_id, parse_ts};
use crate::wire::lenient::Lenient;

/// Authenticated routes: `POST /attribution/events`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(track))
}

/// Tenant routes that never read credentials: `POST|OPTIONS /attribution/identify`.
pub fn open_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(identify, identify_preflight))
}

/// `POST /attribution/events` body.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrackBody {
    /// The customer's id (1–256 characters), as given to identify.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 256)]
    pub user_id: Option<Lenient<String>>,
    /// Event type, e.g. `signup`, `sale` (1–80 characters).
    #[serde(rename = "type")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 80)]
    pub event_type: Option<Lenient<String>>,
    /// Value ≥ 0 and < 10¹², a JSON number or a numeric string; stored rounded half-up to
    /// cents. Default 0.
    #[schema(value_type = Option<f64>, minimum = 0)]
    pub value: Option<Lenient<Value>>,
    /// ISO 4217 code, 3 letters (upper-cased). Default `USD`.
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z]{3}$", example = "USD")]
    pub currency: Option<Lenient<String>>,
    /// Free-form object stored with the event.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Lenient<serde_json::Map<String, Value>>>,
    /// ISO-8601 event time. Default: now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ts: Option<Lenient<String>>,
}

impl TrackBody {
    /// Validates into a [`NewEvent`] of `tenant` (`ts` defaults to `now`). Errors: 400
    /// `invalid_body` naming every bad field.
    pub fn validate(self, tenant: &str, now: DateTime<Utc>) -> ApiResult<NewEvent> {
        let mut v = Validation::new();
        let user_id = required(
            &mut v,
            "userId",
            self.user_id,
            1..=256,
            "Expected a string of 1-256 characters",
        );
        let event_type = required(
            &mut v,
            "type",
            self.event_type,
            1..=80,
            "Expected a string of 1-80 characters",
        );
        let value = self.value.and_then(|x| {
            let d = match x {
                Lenient::Valid(x) => decimal_of(&x),
                Lenient::Invalid => None,
            };
            let d = d.filter(|d| *d >= Decimal::ZERO && *d < Decimal::from(1_000_000_000_000i64));
            if d.is_none() {
                v.push("value", "Expected a number >= 0");
            }
            d
        });
        let currency = match self.currency {
            None => "USD".to_owned(),
            Some(c) => {
                match c.valid_if(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic())) {
                    Some(s) => s.to_ascii_uppercase(),
                    None => {
                        v.push("currency", "Expected a 3-letter currency code");
                        String::new()
                    }
                }
            }
        };
        let metadata = match self.metadata {
            None => None,
            Some(Lenient::Valid(m)) => Some(Value::Object(m)),
            Some(Lenient::Invalid) => {
                v.push("metadata", "Expected an object");
                None
            }
        };
        let ts = match self.ts {
            None => now,
            Some(Lenient::Valid(s)) => parse_ts(&s).unwrap_or_else(|| {
                v.push("ts", "Invalid datetime");
                now
            }),
            Some(Lenient::Invalid) => {
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
}

/// A required string field whose length in characters is in `len`: records `Required`
/// when absent (or `null`) and `msg` when of another type or length; `""` after an error.
fn required(
    v: &mut Validation,
    field: &str,
    given: Option<Lenient<String>>,
    len: std::ops::RangeInclusive<usize>,
    msg: &str,
) -> String {
    match given {
        None => {
            v.push(field, "Required");
            String::new()
        }
        Some(s) => s
            .valid_if(|s| len.contains(&s.chars().count()))
            .unwrap_or_else(|| {
                v.push(field, msg);
                String::new()
            }),
    }
}

/// `POST /attribution/events` answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrackResponse {
    /// Always `true`.
    pub ok: bool,
    /// The stored event's id.
    pub event_id: String,
    /// What attribution decided for it.
    pub attribution: AttributionOutcome,
}

/// Stores and attributes one event in the caller's job, emitting its webhook events.
/// Errors: database errors only.
pub fn track_event(
    c: &rusqlite::Connection,
    ev: NewEvent,
    now: DateTime<Utc>,
) -> ApiResult<TrackResponse> {
    attribution::insert_event(c, &ev, now)?;
    let run =
        attribution::attribute_stored_event(c, &ev.id, now)?.ok_or_else(ApiError::internal)?;
    run.emit(c, &ev.tenant_id, &fmt_ts(now))?;
    Ok(TrackResponse {
        ok: true,
        event_id: ev.id,
        attribution: run.outcome(),
    })
}

/// Records a conversion event and attributes it (API.md §3.4). Admin key or a scoped key
/// with `events:write`.
#[utoipa::path(post, path = "/attribution/events", tag = "attribution",
    request_body = TrackBody,
    responses((status = 200, description = "Stored; `attribution` says what the engine decided", body = TrackResponse)))]
async fn track(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<TrackBody>,
) -> ApiResult<Reply<TrackResponse>> {
    auth.require_scope(Scope::EventsWrite)?;
    let now = state.clock.now();
    let ev = body.validate(&tenant.id, now)?;
    respond::ok(&state, move |c| track_event(c, ev, now)).await
}

/// `POST /attribution/identify` body.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentifyBody {
    /// The click id (`_cref` cookie), 1–256 bytes.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 256)]
    pub cref: Option<Lenient<String>>,
    /// The customer's id, 1–256 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 256)]
    pub user_id: Option<Lenient<String>>,
    /// Epoch milliseconds; accepted and ignored.
    #[schema(value_type = Option<f64>)]
    pub ts: Option<Lenient<serde_json::Number>>,
}

/// `POST /attribution/identify` answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentifyResponse {
    /// Always `true`.
    pub ok: bool,
    /// The new identity's id; `null` when the (click, user) pair existed already.
    pub identity_id: Option<String>,
    /// True when this stitched the pair for the first time.
    pub first_stitch: bool,
    /// The number of the user's past events whose re-run ended `attributed` (one per
    /// event however many touches it wrote; `already_attributed` counts zero).
    pub backfilled_attributions: usize,
}

/// Stitches `(cref, user_id)` in the caller's job; on a first stitch re-runs the user's
/// past events in time order and emits their webhook events. Errors: 404
/// `click_not_found`.
pub fn stitch(
    c: &rusqlite::Connection,
    tenant: &str,
    cref: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<IdentifyResponse> {
    if !store::attribution::click_exists(c, tenant, cref)? {
        return Err(ApiError::not_found_code("click_not_found"));
    }
    let id = new_id();
    let now_iso = fmt_ts(now);
    if !store::identities::insert_if_new(c, &id, tenant, cref, user_id, &now_iso)? {
        return Ok(IdentifyResponse {
            ok: true,
            identity_id: None,
            first_stitch: false,
            backfilled_attributions: 0,
        });
    }
    let runs = attribution::rerun_user_events(c, tenant, user_id, now)?;
    for run in &runs {
        run.emit(c, tenant, &now_iso)?;
    }
    Ok(IdentifyResponse {
        ok: true,
        identity_id: Some(id),
        first_stitch: true,
        // One per re-run event that ended `attributed` (API.md §3.3), not per touch.
        backfilled_attributions: runs.iter().filter(|run| run.is_attributed()).count(),
    })
}

/// Stitches a click to a user (API.md §3.3). Never reads `Authorization` or cookies (no
/// `Auth` extractor, and the route sits outside the authenticating group); 120/min per IP;
/// CORS headers on every answer ([`identify_cors`]).
#[utoipa::path(post, path = "/attribution/identify", tag = "attribution", security(()),
    request_body = IdentifyBody,
    responses(
        (status = 200, description = "Stitched (or the pair existed: `identityId` null)", body = IdentifyResponse),
        (status = 404, description = "click_not_found", body = crate::error::ErrorBody)))]
async fn identify(
    State(state): State<AppState>,
    tenant: Tenant,
    Json(body): Json<IdentifyBody>,
) -> ApiResult<Reply<IdentifyResponse>> {
    let mut v = Validation::new();
    let cref = match body.cref {
        None => {
            v.push("cref", "Required");
            String::new()
        }
        Some(s) => s
            .valid_if(|s| !s.is_empty() && s.len() <= 256)
            .unwrap_or_else(|| {
                v.push("cref", "Expected a non-empty string");
                String::new()
            }),
    };
    let user_id = required(
        &mut v,
        "userId",
        body.user_id,
        1..=256,
        "Expected a non-empty string",
    );
    if let Some(Lenient::Invalid) = body.ts {
        v.push("ts", "Expected epoch milliseconds");
    }
    v.finish_body()?;
    let now = state.clock.now();
    respond::ok(&state, move |c| stitch(c, &tenant.id, &cref, &user_id, now)).await
}

/// CORS preflight of identify: 204; [`identify_cors`] adds the preflight headers.
#[utoipa::path(options, path = "/attribution/identify", tag = "attribution", security(()),
    responses((status = 204, description = "Preflight answer with the CORS headers")))]
async fn identify_preflight() -> StatusCode {
    StatusCode::NO_CONTENT
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
