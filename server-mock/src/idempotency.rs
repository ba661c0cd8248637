//! \[EXT\] `Idempotency-Key` (API.md §5) as a route-group middleware, so every POST route
//! (including ones added later) is covered without handler code.
//!
//! Applies to authenticated POSTs (a valid credential that passes its IP allowlist) outside
//! `/auth/*`, when extensions are on — on tenant routes and on \[EXT\] `/platform/*` (the
//! platform key, recorded under [`PLATFORM_SCOPE`]). Records live per (tenant, credential id, key) for
//! `Config::idempotency_ttl` (24 h) and hold the SHA-256 of
//! `METHOD \n path[?query] \n raw body` (the query is included: a different query is a
//! different request). Outcomes:
//! - first use: the key is claimed in an in-memory in-flight table (one per server
//!   process), the handler runs, then the response is stored when it is 2xx or a 4xx
//!   other than 401/403/409/429 — otherwise nothing is stored, so the request can be
//!   retried — and the claim is released. Only the final record is written, so a keyed
//!   request costs one database write more than an unkeyed one. Secret-bearing responses (top-level
//!   `plaintext` or `secret`, or a `url` from `…/login-links`) are stored as a marker with
//!   the created `id` only;
//! - repeat with the same hash: the stored status and body with `Idempotent-Replayed: true`,
//!   or 409 `idempotency_replay_unavailable` `{"detail":{"id"}}` for a secret marker, or
//!   409 `idempotency_key_in_flight` while the first request runs;
//! - repeat with a different hash: 422 `idempotency_key_reused`.
//!
//! A claim whose request never finishes (panic, client gone) is released by a drop guard;
//! in-flight rows that older versions wrote to the database are cleared at start-up. A key that is
//! empty, longer than 255 chars or not visible ASCII → 400 `invalid_idempotency_key`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use rusqlite::Connection;
use serde::Serialize;
use serde_json::{json, Value};

use crate::auth::{Auth, Principal};
use crate::error::ApiError;
use crate::extract::{payload_too_large, MAX_BODY};
use crate::state::AppState;
use crate::store::idempotency::{self as store, KeyIds, Record, Stored};
use crate::tenancy::Tenant;
use crate::util;

/// The tenant-id column of records made with the \[EXT\] platform key on `/platform/*`
/// (which has no tenant): `platform`, a reserved slug, which no tenant id can be (ids are
/// ULIDs). With the platform key's credential id `platform`
/// ([`Auth::credential_id`]), its keys live in their own (scope, credential) space.
pub const PLATFORM_SCOPE: &str = "platform";

/// Request header name.
pub const HEADER: &str = "idempotency-key";
/// Replay marker header.
pub const REPLAYED: &str = "idempotent-replayed";

/// Keys whose first request is running: (tenant, credential, key) → request hash.
#[derive(Debug, Default)]
pub struct InFlight {
    claims: Mutex<HashMap<KeyIds, String>>,
}

impl InFlight {
    /// Claims `ids` for a request with `hash`; on a clash returns the hash of the request
    /// holding the claim.
    fn claim(&self, ids: &KeyIds, hash: &str) -> Result<(), String> {
        let mut m = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = m.get(ids) {
            return Err(h.clone());
        }
        m.insert(ids.clone(), hash.to_owned());
        Ok(())
    }

    fn release(&self, ids: &KeyIds) {
        let mut m = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        m.remove(ids);
    }
}

/// Releases the claim however the request ends (answered, panicked, client gone).
struct Guard<'a> {
    inflight: &'a InFlight,
    key: KeyIds,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.inflight.release(&self.key);
    }
}

fn reused_error() -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
        .detail("this Idempotency-Key was used with a different request")
}

fn reused() -> Response {
    reused_error().into_response()
}

/// A keyed request on its way to its handler: the middleware hands it to the handler's one
/// database job through a task-local (see [`take_current`]), so that the lookup, the
/// handler's writes and the stored response are one savepoint and one commit.
#[derive(Debug, Clone)]
pub struct Keyed {
    ids: KeyIds,
    hash: String,
    now: String,
    expires: String,
    is_login_link: bool,
    taken: Arc<AtomicBool>,
}

tokio::task_local! {
    static KEYED: Keyed;
}

/// The keyed context of the request being handled on this task, the first time it is
/// asked for (a handler's one job takes it; later calls get `None`). `None` too for
/// requests without an Idempotency-Key.
pub fn take_current() -> Option<Keyed> {
    KEYED
        .try_with(|k| (!k.taken.swap(true, Ordering::SeqCst)).then(|| k.clone()))
        .ok()
        .flatten()
}

/// What a keyed job answers.
#[derive(Debug)]
pub enum KeyedOutcome {
    /// The handler ran: its status and value, already serialized and recorded.
    Fresh(StatusCode, Vec<u8>),
    /// The handler ran and failed with a storable client error, which was recorded (its
    /// writes were rolled back).
    Failed(ApiError),
    /// A stored response replayed (`Idempotent-Replayed: true`).
    Replay {
        /// Status.
        status: StatusCode,
        /// Content type.
        content_type: Option<String>,
        /// Body.
        body: Vec<u8>,
    },
}

/// True for the responses §5 stores: 2xx and 4xx other than 401, 403, 409 and 429.
fn storable(status: StatusCode) -> bool {
    status.is_success()
        || (status.is_client_error() && !matches!(status.as_u16(), 401 | 403 | 409 | 429))
}

/// The created id of a secret-bearing response body (top-level `plaintext` or `secret`,
/// or a login link's `url`): `Some(id)` when the body must not be stored.
fn secret_marker(body: &Value, is_login_link: bool) -> Option<Option<String>> {
    let o = body.as_object()?;
    if o.contains_key("plaintext")
        || o.contains_key("secret")
        || (is_login_link && o.contains_key("url"))
    {
        Some(
            o.get("id")
                .or_else(|| o.get("endpoint").and_then(|e| e.get("id")))
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        )
    } else {
        None
    }
}

/// The stored answer to a repeat: a replay, 409 `idempotency_replay_unavailable`, or 422
/// `idempotency_key_reused` when the request differs.
fn answer_repeat(rec: Record, hash: &str) -> Result<KeyedOutcome, ApiError> {
    if rec.request_hash != hash {
        return Err(reused_error());
    }
    match rec.stored {
        Stored::Secret { created_id } => Err(ApiError::conflict("idempotency_replay_unavailable")
            .detail(json!({ "id": created_id }))),
        Stored::Response {
            status,
            content_type,
            body,
        } => Ok(KeyedOutcome::Replay {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            content_type,
            body,
        }),
    }
}

impl Keyed {
    /// Runs a handler's database work `f` for this keyed request, on the writer thread,
    /// inside the request's job: replays a stored response instead of running `f`; else
    /// runs `f` in a savepoint and records its response (its status + the JSON of its value) or
    /// its storable error in the same transaction. A crash after the commit therefore
    /// leaves the record, and the client's retry gets the replay.
    pub fn run<T, F>(&self, c: &mut Connection, f: F) -> Result<KeyedOutcome, ApiError>
    where
        T: Serialize,
        F: FnOnce(&mut Connection) -> Result<(StatusCode, T), ApiError>,
    {
        if let Some(rec) = store::find_live(c, &self.ids, &self.now)? {
            return answer_repeat(rec, &self.hash);
        }
        c.execute_batch("SAVEPOINT keyed")?;
        match f(c) {
            Ok((status, value)) => {
                c.execute_batch("RELEASE keyed")?;
                let json = serde_json::to_value(&value).map_err(|e| {
                    tracing::error!(error = %e, "response does not serialize");
                    ApiError::internal()
                })?;
                let bytes = serde_json::to_vec(&json).map_err(|_| ApiError::internal())?;
                if storable(status) {
                    let stored = match secret_marker(&json, self.is_login_link) {
                        Some(created_id) => Stored::Secret { created_id },
                        None => Stored::Response {
                            status: status.as_u16(),
                            content_type: Some("application/json".into()),
                            body: bytes.clone(),
                        },
                    };
                    store::put(c, &self.ids, &self.hash, &stored, &self.now, &self.expires)?;
                }
                Ok(KeyedOutcome::Fresh(status, bytes))
            }
            Err(e) => {
                c.execute_batch("ROLLBACK TO keyed; RELEASE keyed")?;
                if !storable(e.status) {
                    return Err(e);
                }
                let body = serde_json::to_vec(&e.body()).map_err(|_| ApiError::internal())?;
                let stored = Stored::Response {
                    status: e.status.as_u16(),
                    content_type: Some("application/json".into()),
                    body,
                };
                store::put(c, &self.ids, &self.hash, &stored, &self.now, &self.expires)?;
                Ok(KeyedOutcome::Failed(e))
            }
        }
    }
}

/// How a route group's handlers treat Idempotency-Keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The handler ends in [`crate::respond::respond`], whose job does the lookup and
    /// records the answer with the handler's writes (exactly-once; every route of this
    /// server).
    InJob,
    /// Routes that do not use `respond` (extra routes mounted by embedders and tests): the
    /// lookup is a job before the handler and the answer is stored by a job after it — a
    /// crash between the handler's commit and the second job forgets the key.
    LookupFirst,
}

/// Route-group middleware (after auth and rate limiting) for this server's own routes.
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    handle(state, req, next, Mode::InJob).await
}

/// [`idempotency`] for extra routes whose handlers do not end in `respond` (see
/// [`crate::spawn_with_routes`]): lookup before, record after, not crash-safe.
pub async fn idempotency_lookup_first(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    handle(state, req, next, Mode::LookupFirst).await
}

async fn handle(state: AppState, req: Request, next: Next, mode: Mode) -> Response {
    if !state.ext() || req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw_key) = req.headers().get(HEADER).cloned() else {
        return next.run(req).await;
    };
    if req.uri().path().starts_with("/auth/") {
        return next.run(req).await;
    }
    let Some(auth) = req.extensions().get::<Auth>().cloned() else {
        return next.run(req).await;
    };
    let Some(cred) = auth.credential_id() else {
        return next.run(req).await;
    };
    if auth.ip_denied {
        return next.run(req).await;
    }
    let scope = match (req.extensions().get::<Tenant>(), &auth.principal) {
        (Some(tenant), _) => tenant.id.clone(),
        (None, Principal::Platform) => PLATFORM_SCOPE.to_owned(),
        (None, _) => return next.run(req).await,
    };
    let key = match raw_key.to_str() {
        Ok(k)
            if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x20..0x7f).contains(&b)) =>
        {
            k.to_owned()
        }
        _ => {
            return ApiError::bad_request("invalid_idempotency_key")
                .detail("Idempotency-Key must be 1-255 visible ASCII characters")
                .into_response()
        }
    };

    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return payload_too_large().into_response(),
    };
    let path_q = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let hash = request_hash(parts.method.as_str(), &path_q, &bytes);

    let now = state.clock.now();
    let ttl = Duration::from_std(state.config.idempotency_ttl).unwrap_or(Duration::hours(24));
    let ids = KeyIds {
        tenant_id: scope,
        credential_id: cred,
        key,
    };

    if let Err(holder) = state.inflight.claim(&ids, &hash) {
        return if holder == hash {
            ApiError::conflict("idempotency_key_in_flight")
                .detail("a request with this Idempotency-Key is still running")
                .into_response()
        } else {
            reused()
        };
    }
    let _guard = Guard {
        inflight: &state.inflight,
        key: ids.clone(),
    };

    let keyed = Keyed {
        ids,
        hash,
        now: util::fmt_ts(now),
        expires: util::fmt_ts(now + ttl),
        is_login_link: parts.uri.path().ends_with("/login-links"),
        taken: Arc::new(AtomicBool::new(false)),
    };
    let req = Request::from_parts(parts, Body::from(bytes));
    if mode == Mode::LookupFirst {
        let lookup = {
            let keyed = keyed.clone();
            state
                .db
                .call(
                    move |c| match store::find_live(c, &keyed.ids, &keyed.now)? {
                        Some(rec) => answer_repeat(rec, &keyed.hash).map(Some),
                        None => Ok(None),
                    },
                )
                .await
        };
        match lookup {
            Err(e) => return e.into_response(),
            Ok(Some(outcome)) => return outcome.into_response(),
            Ok(None) => {}
        }
        let resp = next.run(req).await;
        return record_after(&state, keyed, resp).await;
    }
    let resp = KEYED.scope(keyed.clone(), next.run(req)).await;
    if keyed.taken.load(Ordering::SeqCst) {
        // The handler's job looked the key up and recorded its answer itself.
        return resp;
    }
    // The handler answered without a database job (a validation or guard error): look the
    // key up now, replay what is stored or store this answer when §5 says so. Nothing was
    // written, so there is nothing to keep exactly-once here.
    record_after(&state, keyed, resp).await
}

/// After a handler that did not record its own answer: replays what is stored for the key
/// (a repeat) or stores `resp` when §5 says so, in one job.
async fn record_after(state: &AppState, keyed: Keyed, resp: Response) -> Response {
    let (rparts, rbody) = resp.into_parts();
    let rbytes: Bytes = match axum::body::to_bytes(rbody, usize::MAX).await {
        Ok(b) => b,
        Err(_) => return ApiError::internal().into_response(),
    };
    let status = rparts.status;
    let ct = rparts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = rbytes.to_vec();
    let after = state
        .db
        .call(move |c| {
            if let Some(rec) = store::find_live(c, &keyed.ids, &keyed.now)? {
                return answer_repeat(rec, &keyed.hash).map(Some);
            }
            if storable(status) {
                let parsed: Option<Value> = serde_json::from_slice(&body).ok();
                let stored = match parsed
                    .as_ref()
                    .and_then(|v| secret_marker(v, keyed.is_login_link))
                {
                    Some(created_id) => Stored::Secret { created_id },
                    None => Stored::Response {
                        status: status.as_u16(),
                        content_type: ct,
                        body,
                    },
                };
                store::put(
                    c,
                    &keyed.ids,
                    &keyed.hash,
                    &stored,
                    &keyed.now,
                    &keyed.expires,
                )?;
            }
            Ok(None)
        })
        .await;
    match after {
        Err(e) => e.into_response(),
        Ok(Some(outcome)) => outcome.into_response(),
        Ok(None) => Response::from_parts(rparts, Body::from(rbytes)),
    }
}

impl IntoResponse for KeyedOutcome {
    fn into_response(self) -> Response {
        match self {
            KeyedOutcome::Fresh(status, bytes) => {
                let mut resp = Response::new(Body::from(bytes));
                *resp.status_mut() = status;
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                resp
            }
            KeyedOutcome::Failed(e) => e.into_response(),
            KeyedOutcome::Replay {
                status,
                content_type,
                body,
            } => {
                let mut resp = Response::new(Body::from(body));
                *resp.status_mut() = status;
                if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                    resp.headers_mut().insert(header::CONTENT_TYPE, ct);
                }
                resp.headers_mut()
                    .insert(REPLAYED, HeaderValue::from_static("true"));
                resp
            }
        }
    }
}

/// The stored request fingerprint: SHA-256 hex of `METHOD \n path[?query] \n body`
/// (path after tenant-prefix stripping).
pub fn request_hash(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut input = Vec::with_capacity(body.len() + path_and_query.len() + 8);
    input.extend_from_slice(method.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(path_and_query.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(body);
    util::sha256_hex(&input)
}
