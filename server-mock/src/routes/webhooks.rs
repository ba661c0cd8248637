//! Webhook endpoints and deliveries (API.md §3.6): create / list / get / update / delete
//! endpoints, list deliveries, the \[EXT\] attempt log, manual retry and test pings.
//! Fan-out, signing, sending and the attempt bookkeeping are [`crate::webhooks`]; the
//! SQL is [`crate::store::webhooks`].
//!
//! Choices where API.md is silent: `url` must be an absolute `http`/`https` URL of at
//! most 2048 characters (the SSRF guard applies at delivery time, not here); `events`
//! holds 1–20 distinct types of [`crate::webhooks::EVENT_TYPES`] or `*`; `label` is
//! trimmed (empty = none) and `PATCH {"label":null}` clears it; endpoints are listed
//! oldest first; `?hard=` accepts `1`/`true` (hard) and `0`/`false` (soft); a hard delete
//! removes the endpoint's deliveries and attempts too. `POST …/test?event=` takes
//! `webhook.test` (default) or one of the subscribable types; the synthetic delivery is
//! stored and listed like any other. Manual retries and test pings send at once, answer
//! after that attempt, and never schedule automatic retries.
//!
//! Retry and test ping are the two handlers with a network call in the middle: a first
//! job (in [`crate::webhooks`]) checks and claims the delivery, then the attempt is sent,
//! then the handler's one `respond` job records it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Scope};
use crate::error::{ApiError, ApiResult, ErrorBody, Validation};
use crate::extract::{Json, Query};
use crate::respond::{self, respond, Reply};
use crate::state::AppState;
use crate::store;
use crate::store::webhooks::{AttemptRow, DeliveryRow, EndpointChanges, EndpointRow};
use crate::tenancy::Tenant;
use crate::util::new_id;
use crate::webhooks::{self, RetryPolicy, Trigger, EVENT_TYPES, TEST_EVENT};
use crate::wire::lenient::Lenient;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(deliveries))
        .routes(routes!(attempts))
        .routes(routes!(retry))
        .routes(routes!(test))
}

/// Longest accepted endpoint URL.
pub const MAX_URL: usize = 2048;
/// Longest label.
pub const MAX_LABEL: usize = 80;
/// Most event types per endpoint.
pub const MAX_EVENTS: usize = 20;
/// Deliveries listed per endpoint (the newest).
pub const DELIVERIES_LISTED: u32 = 100;

/// A webhook endpoint (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// Endpoint id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Where deliveries are `POST`ed.
    pub url: String,
    /// First 10 characters of the secret (`whsec_` + 4).
    pub secret_prefix: String,
    /// Subscribed event types; `*` = all.
    pub events: Vec<String>,
    /// False after a soft delete or `PATCH {"active":false}`: nothing is delivered.
    pub active: bool,
    /// Label, `null` when none.
    pub label: Option<String>,
    /// Creation time (ISO 8601).
    pub created_at: String,
    /// Time of the last delivery attempt, `null` before the first.
    pub last_used_at: Option<String>,
}

impl From<EndpointRow> for Endpoint {
    fn from(e: EndpointRow) -> Endpoint {
        Endpoint {
            id: e.id,
            tenant_id: e.tenant_id,
            url: e.url,
            secret_prefix: e.secret_prefix,
            events: e.events,
            active: e.active,
            label: e.label,
            created_at: e.created_at,
            last_used_at: e.last_used_at,
        }
    }
}

/// `POST /webhooks` answer: the endpoint and its secret, shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedEndpoint {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The signing secret, `whsec_` + 32 base64url characters (shown once).
    #[schema(example = "whsec_0123456789abcdefghijklmnopqrstuv")]
    pub secret: String,
}

/// `{"endpoint": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointReply {
    /// The endpoint.
    pub endpoint: Endpoint,
}

/// `{"endpoints": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointList {
    /// Every endpoint of the tenant, oldest first.
    pub endpoints: Vec<Endpoint>,
}

/// One delivery of an event to an endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Delivery id (a bare ULID; one delivery per event and endpoint).
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The event envelope id `evt_…`, sent as `x-openpartner-delivery` on every attempt
    /// (receivers de-duplicate on it).
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// The exact body sent, as a JSON string.
    pub payload: String,
    /// `pending` (not sent yet, or waiting for an automatic retry), `delivered` or
    /// `failed`.
    #[schema(pattern = "^(pending|delivered|failed)$")]
    pub status: String,
    /// HTTP status of the last attempt, `null` before it or when no answer came
    /// (blocked, DNS, connect, timeout).
    pub http_status: Option<u16>,
    /// Why the last attempt failed (`HTTP <code>` or the transport error), `null` on
    /// success.
    pub error: Option<String>,
    /// Attempts made.
    pub attempts: u32,
    /// Creation time (ISO 8601).
    pub created_at: String,
    /// When it was delivered, `null` until then.
    pub delivered_at: Option<String>,
    /// When the last attempt was made, `null` before the first.
    pub last_attempt_at: Option<String>,
    /// \[EXT\] When the next automatic attempt is due (pending deliveries between
    /// attempts); absent otherwise and with extensions off.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(extensions(("x-extension" = json!(true))))]
    pub next_attempt_at: Option<String>,
}

impl Delivery {
    /// The wire delivery of `d`; `nextAttemptAt` only when `ext`.
    fn new(d: DeliveryRow, ext: bool) -> Delivery {
        Delivery {
            id: d.id,
            endpoint_id: d.endpoint_id,
            event_id: d.event_id,
            event_type: d.event_type,
            payload: d.payload,
            status: d.status,
            http_status: d.http_status,
            error: d.error,
            attempts: d.attempts,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
            last_attempt_at: d.last_attempt_at,
            next_attempt_at: d.next_attempt_at.filter(|_| ext),
        }
    }
}

/// `{"deliveries": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// The newest 100 deliveries of the endpoint, newest first.
    pub deliveries: Vec<Delivery>,
}

/// `{"delivery": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryReply {
    /// The delivery after the attempt.
    pub delivery: Delivery,
}

/// `POST /webhooks/{id}/test` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestReply {
    /// The synthetic delivery after its attempt.
    pub delivery: Delivery,
    /// The envelope sent: `{"id":"evt_…","event","created","data":{"_synthetic":true}}`.
    #[schema(value_type = Object)]
    pub event: Value,
}

/// \[EXT\] One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// Attempt number, from 1.
    pub n: u32,
    /// `scheduled` (the first try and automatic retries) or `manual` (retry, test).
    #[schema(pattern = "^(scheduled|manual)$")]
    pub trigger: String,
    /// The receiver's HTTP status, `null` when no answer came.
    pub http_status: Option<u16>,
    /// Why it failed, `null` on success.
    pub error: Option<String>,
    /// The first 4 KiB of the receiver's body, `null` without an answer.
    pub response_snippet: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// When it was made (ISO 8601).
    pub at: String,
}

impl From<AttemptRow> for Attempt {
    fn from(a: AttemptRow) -> Attempt {
        Attempt {
            n: a.n,
            trigger: a.trigger,
            http_status: a.http_status,
            error: a.error,
            response_snippet: a.response_snippet,
            duration_ms: a.duration_ms,
            at: a.at,
        }
    }
}

/// \[EXT\] `{"attempts": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptList {
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
}

/// `POST /webhooks` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateEndpoint {
    /// Absolute `http`/`https` URL, at most 2048 characters.
    #[schema(value_type = String, required = true, max_length = 2048)]
    pub url: Option<Lenient<String>>,
    /// 1–20 event types (`attribution.created`, `commission.accrued`,
    /// `commission.approved`, `commission.paid`, `commission.reversed`, `partner.created`,
    /// `partner.activated`, `payout.created`) or `*` for all.
    #[schema(value_type = Vec<String>, required = true, min_items = 1, max_items = 20)]
    pub events: Option<Lenient<Vec<String>>>,
    /// Label, at most 80 characters (trimmed; empty = none).
    #[schema(value_type = Option<String>, max_length = 80)]
    pub label: Option<Lenient<String>>,
}

/// `PATCH /webhooks/{id}` body: the fields to change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateEndpoint {
    /// New URL (absolute `http`/`https`, at most 2048 characters).
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub url: Option<Lenient<String>>,
    /// New event types (1–20, or `*`).
    #[schema(value_type = Option<Vec<String>>, min_items = 1, max_items = 20)]
    pub events: Option<Lenient<Vec<String>>>,
    /// New label (at most 80 characters); `null` or `""` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 80)]
    pub label: Option<Option<Lenient<String>>>,
    /// Activate or deactivate.
    #[schema(value_type = Option<bool>)]
    pub active: Option<Lenient<bool>>,
}

/// A field that is present (`Some`, possibly `Some(None)` for `null`) or absent (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn validate_url(raw: Option<Lenient<String>>, v: &mut Validation) -> Option<String> {
    let msg = "must be an absolute http or https URL of at most 2048 characters";
    let ok = raw.and_then(|u| {
        u.valid_if(|s| {
            let s = s.trim();
            s.chars().count() <= MAX_URL
                && url::Url::parse(s)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        })
    });
    if ok.is_none() {
        v.push("url", msg);
    }
    ok.map(|s| s.trim().to_owned())
}

fn validate_events(raw: Option<Lenient<Vec<String>>>, v: &mut Validation) -> Vec<String> {
    let Some(Lenient::Valid(list)) = raw else {
        v.push("events", "Expected an array of event types");
        return Vec::new();
    };
    if list.is_empty() {
        v.push("events", "must contain at least one event type");
    } else if list.len() > MAX_EVENTS {
        v.push("events", "must contain at most 20 event types");
    }
    let mut out: Vec<String> = Vec::new();
    for (i, e) in list.into_iter().enumerate() {
        let e = e.trim().to_owned();
        if e != "*" && !EVENT_TYPES.contains(&e.as_str()) {
            v.push(
                &format!("events.{i}"),
                &format!(
                    "unknown event type '{e}' (expected one of {} or *)",
                    EVENT_TYPES.join(", ")
                ),
            );
        } else if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

fn validate_label(raw: Option<Lenient<String>>, v: &mut Validation) -> Option<String> {
    match raw {
        None => None,
        Some(l) => match l.valid_if(|s| s.trim().chars().count() <= MAX_LABEL) {
            Some(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
            None => {
                v.push("label", "must be a string of at most 80 characters");
                None
            }
        },
    }
}

fn load(c: &rusqlite::Connection, tenant: &str, id: &str) -> ApiResult<EndpointRow> {
    store::webhooks::get_endpoint(c, tenant, id)?.ok_or_else(ApiError::not_found)
}

/// Creates an endpoint (admin, `webhooks:write`); the secret is shown only in this
/// answer (an Idempotency-Key replay answers 409 `idempotency_replay_unavailable`).
#[utoipa::path(post, path = "/webhooks", operation_id = "createWebhook", tag = "webhooks",
    request_body = CreateEndpoint,
    responses((status = 201, description = "The endpoint and its secret (shown once)", body = CreatedEndpoint)))]
async fn create(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<CreateEndpoint>,
) -> ApiResult<Reply<CreatedEndpoint>> {
    auth.require_scope(Scope::WebhooksWrite)?;
    let mut v = Validation::new();
    let url = validate_url(body.url, &mut v);
    let events = validate_events(body.events, &mut v);
    let label = validate_label(body.label, &mut v);
    v.finish_body()?;
    let url = url.ok_or_else(ApiError::internal)?;
    let now = state.now_iso();
    let reply = respond(&state, StatusCode::CREATED, move |c| {
        let id = new_id();
        let secret = webhooks::new_secret();
        store::webhooks::insert_endpoint(
            c,
            &tenant.id,
            &store::webhooks::NewEndpoint {
                id: &id,
                url: &url,
                secret: &secret,
                secret_prefix: &webhooks::secret_prefix(&secret),
                events: &events,
                label: label.as_deref(),
                created_at: &now,
            },
        )?;
        Ok(CreatedEndpoint {
            endpoint: load(c, &tenant.id, &id)?.into(),
            secret,
        })
    })
    .await?;
    state.webhooks.note_subscriber();
    Ok(reply)
}

/// Every endpoint of the tenant, oldest first (admin).
#[utoipa::path(get, path = "/webhooks", operation_id = "listWebhooks", tag = "webhooks",
    responses((status = 200, description = "The endpoints", body = EndpointList)))]
async fn list(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
) -> ApiResult<Reply<EndpointList>> {
    auth.require_admin()?;
    respond::ok(&state, move |c| {
        let endpoints = store::webhooks::list_endpoints(c, &tenant.id)?;
        Ok(EndpointList {
            endpoints: endpoints.into_iter().map(Endpoint::from).collect(),
        })
    })
    .await
}

/// One endpoint (admin).
#[utoipa::path(get, path = "/webhooks/{id}", operation_id = "getWebhook", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "The endpoint", body = EndpointReply),
        (status = 404, description = "not_found", body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<EndpointReply>> {
    auth.require_admin()?;
    respond::ok(&state, move |c| {
        Ok(EndpointReply {
            endpoint: load(c, &tenant.id, &id)?.into(),
        })
    })
    .await
}

/// Changes the given fields of an endpoint (admin). Deactivating stops deliveries:
/// pending ones fail with `endpoint inactive` when they come due.
#[utoipa::path(patch, path = "/webhooks/{id}", operation_id = "updateWebhook", tag = "webhooks",
    request_body = UpdateEndpoint,
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "The updated endpoint", body = EndpointReply),
        (status = 404, description = "not_found", body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateEndpoint>,
) -> ApiResult<Reply<EndpointReply>> {
    auth.require_admin()?;
    let mut v = Validation::new();
    let url = body.url.map(|u| validate_url(Some(u), &mut v));
    let events = body.events.map(|e| validate_events(Some(e), &mut v));
    let label = body.label.map(|l| validate_label(l, &mut v));
    let active = match body.active {
        None => None,
        Some(Lenient::Valid(b)) => Some(b),
        Some(Lenient::Invalid) => {
            v.push("active", "Expected a boolean");
            None
        }
    };
    v.finish_body()?;
    respond::ok(&state, move |c| {
        let changes = EndpointChanges {
            url: url.as_ref().and_then(|u| u.as_deref()),
            events: events.as_deref(),
            label: label.as_ref().map(|l| l.as_deref()),
            active,
        };
        if !store::webhooks::update_endpoint(c, &tenant.id, &id, &changes)? {
            return Err(ApiError::not_found());
        }
        Ok(EndpointReply {
            endpoint: load(c, &tenant.id, &id)?.into(),
        })
    })
    .await
}

/// `DELETE /webhooks/{id}` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// `1`/`true`: remove the endpoint with its deliveries; default: deactivate it.
    #[param(pattern = "^(0|1|true|false)$")]
    pub hard: Option<String>,
}

/// Deletes an endpoint (admin, `webhooks:write`): soft by default (`active:false`),
/// `?hard=1` removes it with its deliveries and attempts.
#[utoipa::path(delete, path = "/webhooks/{id}", operation_id = "deleteWebhook", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id"), DeleteQuery),
    responses((status = 200, description = "Deleted", body = crate::wire::Ok),
        (status = 404, description = "not_found", body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<DeleteQuery>,
) -> ApiResult<Reply<crate::wire::Ok>> {
    auth.require_scope(Scope::WebhooksWrite)?;
    let hard = match q.hard.as_deref() {
        None | Some("0") | Some("false") => false,
        Some("1") | Some("true") => true,
        Some(_) => {
            return Err(ApiError::invalid_query(
                Validation::new().field("hard", "Expected 1, true, 0 or false"),
            ))
        }
    };
    respond::ok(&state, move |c| {
        let found = if hard {
            store::webhooks::delete_endpoint(c, &tenant.id, &id)?
        } else {
            let off = EndpointChanges {
                active: Some(false),
                ..EndpointChanges::default()
            };
            store::webhooks::update_endpoint(c, &tenant.id, &id, &off)?
        };
        if !found {
            return Err(ApiError::not_found());
        }
        Ok(crate::wire::Ok::TRUE)
    })
    .await
}

/// The newest 100 deliveries of an endpoint, newest first (admin).
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", operation_id = "listWebhookDeliveries", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id")),
    responses((status = 200, description = "The newest 100 deliveries", body = DeliveryList),
        (status = 404, description = "not_found", body = ErrorBody)))]
async fn deliveries(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<DeliveryList>> {
    auth.require_admin()?;
    let ext = state.ext();
    respond::ok(&state, move |c| {
        load(c, &tenant.id, &id)?;
        let rows = store::webhooks::list_deliveries(c, &tenant.id, &id, DELIVERIES_LISTED)?;
        Ok(DeliveryList {
            deliveries: rows.into_iter().map(|d| Delivery::new(d, ext)).collect(),
        })
    })
    .await
}

/// \[EXT\] The attempts of a delivery, oldest first (admin); 400 `endpoint_mismatch` for a
/// delivery of another endpoint, as on retry.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries/{delivery_id}/attempts", operation_id = "listWebhookAttempts", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id"),
        ("delivery_id" = String, Path, description = "Delivery id")),
    extensions(("x-extension" = json!(true))),
    responses((status = 200, description = "The attempts, oldest first", body = AttemptList),
        (status = 400, description = "endpoint_mismatch: the delivery belongs to another endpoint", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody)))]
async fn attempts(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path((id, delivery_id)): Path<(String, String)>,
) -> ApiResult<Reply<AttemptList>> {
    if !state.ext() {
        return Err(ApiError::route_not_found());
    }
    auth.require_admin()?;
    respond::ok(&state, move |c| {
        load(c, &tenant.id, &id)?;
        let d = store::webhooks::get_delivery(c, &tenant.id, &delivery_id)?
            .ok_or_else(ApiError::not_found)?;
        if d.endpoint_id != id {
            return Err(webhooks::endpoint_mismatch());
        }
        let rows = store::webhooks::list_attempts(c, &d.id)?;
        Ok(AttemptList {
            attempts: rows.into_iter().map(Attempt::from).collect(),
        })
    })
    .await
}

/// Sends a delivery again now (admin): the same body and `x-openpartner-delivery` id with
/// a fresh timestamp and signature; cancels its remaining automatic retries. Answers the
/// delivery after this attempt (`delivered` or `failed`).
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery_id}/retry", operation_id = "retryWebhookDelivery", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id"),
        ("delivery_id" = String, Path, description = "Delivery id")),
    responses((status = 200, description = "The delivery after the attempt", body = DeliveryReply),
        (status = 400, description = "endpoint_mismatch: the delivery belongs to another endpoint", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody)))]
async fn retry(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path((id, delivery_id)): Path<(String, String)>,
) -> ApiResult<Reply<DeliveryReply>> {
    auth.require_admin()?;
    let target = webhooks::claim_for_retry(&state, &tenant.id, &id, &delivery_id).await?;
    send_manual(&state, tenant.id, target, |delivery| DeliveryReply {
        delivery,
    })
    .await
}

/// Sends `target` now as a manual attempt (no automatic retry follows it) and answers
/// `answer(delivery)` with the delivery as recorded after that attempt — the one tail of
/// the retry and test routes.
async fn send_manual<T, F>(
    state: &AppState,
    tenant_id: String,
    target: webhooks::Target,
    answer: F,
) -> ApiResult<Reply<T>>
where
    T: Serialize + Send + 'static,
    F: FnOnce(Delivery) -> T + Send + 'static,
{
    let result = webhooks::send(state, &target).await;
    let (policy, ext, now) = (
        RetryPolicy::from_config(&state.config),
        state.ext(),
        state.clock.now(),
    );
    respond::ok(state, move |c| {
        let d = webhooks::record_attempt(
            c,
            &tenant_id,
            &target.delivery.id,
            Trigger::Manual,
            &result,
            &policy,
            now,
        )?
        .ok_or_else(ApiError::not_found)?;
        Ok(answer(Delivery::new(d, ext)))
    })
    .await
}

/// `POST /webhooks/{id}/test` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TestQuery {
    /// Event type of the synthetic event: `webhook.test` (default) or a subscribable type.
    pub event: Option<String>,
}

/// Sends a synthetic event (`"_synthetic":true` in its data) to an endpoint now (admin),
/// whatever it subscribes to; answers the delivery after the attempt and the envelope.
#[utoipa::path(post, path = "/webhooks/{id}/test", operation_id = "testWebhook", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id"), TestQuery),
    responses((status = 200, description = "The test delivery and the event sent", body = TestReply),
        (status = 400, description = "endpoint_inactive", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody)))]
async fn test(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<TestQuery>,
) -> ApiResult<Reply<TestReply>> {
    auth.require_admin()?;
    let event_type = q.event.unwrap_or_else(|| TEST_EVENT.to_owned());
    if event_type != TEST_EVENT && !EVENT_TYPES.contains(&event_type.as_str()) {
        return Err(ApiError::invalid_query(Validation::new().field(
            "event",
            &format!("Expected {TEST_EVENT} or one of {}", EVENT_TYPES.join(", ")),
        )));
    }
    let (target, event) = webhooks::create_test(&state, &tenant.id, &id, &event_type).await?;
    send_manual(&state, tenant.id, target, move |delivery| TestReply {
        delivery,
        event,
    })
    .await
}
