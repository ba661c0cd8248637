//! \[EXT\] `Idempotency-Key` (API.md §5) as a route-group middleware, so every POST route
//! (including ones added later) is covered without handler code.
//!
//! Applies to authenticated POSTs (a valid credential that passes its IP allowlist) outside
//! `/auth/*`, when extensions are on. Records live per (tenant, credential id, key) for
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

use crate::db::ConnExt;
use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{payload_too_large, MAX_BODY};
use crate::state::AppState;
use crate::tenancy::Tenant;
use crate::util;

/// Request header name.
pub const HEADER: &str = "idempotency-key";
/// Replay marker header.
pub const REPLAYED: &str = "idempotent-replayed";

/// Keys whose first request is running: (tenant, credential, key) → request hash.
#[derive(Debug, Default)]
pub struct InFlight {
    claims: Mutex<HashMap<(String, String, String), String>>,
}

impl InFlight {
    /// Claims `ids` for a request with `hash`; on a clash returns the hash of the request
    /// holding the claim.
    fn claim(&self, ids: &(String, String, String), hash: &str) -> Result<(), String> {
        let mut m = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = m.get(ids) {
            return Err(h.clone());
        }
        m.insert(ids.clone(), hash.to_owned());
        Ok(())
    }

    fn release(&self, ids: &(String, String, String)) {
        let mut m = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        m.remove(ids);
    }
}

/// Releases the claim however the request ends (answered, panicked, client gone).
struct Guard<'a> {
    inflight: &'a InFlight,
    key: (String, String, String),
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.inflight.release(&self.key);
    }
}

fn reused() -> Response {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
        .detail("this Idempotency-Key was used with a different request")
        .into_response()
}

enum Existing {
    Proceed,
    Respond(Response),
}

/// Route-group middleware (after auth and rate limiting).
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
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
    let Some(tenant) = req.extensions().get::<Tenant>().cloned() else {
        return next.run(req).await;
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
    let now_iso = util::fmt_ts(now);
    let ttl = Duration::from_std(state.config.idempotency_ttl).unwrap_or(Duration::hours(24));
    let expires_iso = util::fmt_ts(now + ttl);
    let ids = (tenant.id.clone(), cred.clone(), key.clone());

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

    let lookup = {
        let ids = ids.clone();
        let hash = hash.clone();
        let now_iso = now_iso.clone();
        state
            .db
            .call(move |c| {
                let row: Option<(String, String, Option<i64>, Option<String>, Option<Vec<u8>>, Option<String>, String)> = c
                    .row(
                        "SELECT request_hash, state, status, content_type, body, created_id, expires_at
                         FROM idempotency_keys WHERE tenant_id=?1 AND credential_id=?2 AND idem_key=?3",
                        params![ids.0, ids.1, ids.2],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
                    )
                    .optional()?;
                Ok(match row {
                    // `in_flight` rows only exist in databases of older versions.
                    Some((rhash, st, status, ct, body, created_id, exp))
                        if exp > now_iso && st != "in_flight" =>
                    {
                        if rhash != hash {
                            Existing::Respond(reused())
                        } else if st == "secret" {
                            Existing::Respond(
                                ApiError::conflict("idempotency_replay_unavailable")
                                    .detail(json!({ "id": created_id }))
                                    .into_response(),
                            )
                        } else {
                            let status = status
                                .and_then(|s| u16::try_from(s).ok())
                                .and_then(|s| StatusCode::from_u16(s).ok())
                                .unwrap_or(StatusCode::OK);
                            let mut resp = Response::new(Body::from(body.unwrap_or_default()));
                            *resp.status_mut() = status;
                            if let Some(ct) = ct.and_then(|c| HeaderValue::from_str(&c).ok()) {
                                resp.headers_mut().insert(header::CONTENT_TYPE, ct);
                            }
                            resp.headers_mut()
                                .insert(REPLAYED, HeaderValue::from_static("true"));
                            Existing::Respond(resp)
                        }
                    }
                    _ => Existing::Proceed,
                })
            })
            .await
    };
    match lookup {
        Err(e) => return e.into_response(),
        Ok(Existing::Respond(r)) => return r,
        Ok(Existing::Proceed) => {}
    }

    let is_login_link = parts.uri.path().ends_with("/login-links");
    let req = Request::from_parts(parts, Body::from(bytes));
    let resp = next.run(req).await;

    let (rparts, rbody) = resp.into_parts();
    let rbytes: Bytes = match axum::body::to_bytes(rbody, usize::MAX).await {
        Ok(b) => b,
        Err(_) => return ApiError::internal().into_response(),
    };
    let status = rparts.status;
    let storable = status.is_success()
        || (status.is_client_error() && !matches!(status.as_u16(), 401 | 403 | 409 | 429));
    let ct = rparts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body_for_store = rbytes.to_vec();
    let store = {
        let ids = ids.clone();
        let hash = hash.clone();
        state.db.call(move |c| {
            if !storable {
                return Ok(());
            }
            let parsed: Option<Value> = serde_json::from_slice(&body_for_store).ok();
            let secret_id = parsed.as_ref().and_then(|v| v.as_object()).and_then(|o| {
                if o.contains_key("plaintext")
                    || o.contains_key("secret")
                    || (is_login_link && o.contains_key("url"))
                {
                    let id = o
                        .get("id")
                        .or_else(|| o.get("endpoint").and_then(|e| e.get("id")))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned);
                    Some(id)
                } else {
                    None
                }
            });
            let (st, ct, body, created_id) = match secret_id {
                Some(id) => ("secret", None, None, id),
                None => ("done", ct, Some(body_for_store), None),
            };
            c.exec(
                "INSERT OR REPLACE INTO idempotency_keys
                 (tenant_id, credential_id, idem_key, request_hash, state, status, content_type,
                  body, created_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    ids.0,
                    ids.1,
                    ids.2,
                    hash,
                    st,
                    status.as_u16(),
                    ct,
                    body,
                    created_id,
                    now_iso,
                    expires_iso
                ],
            )?;
            Ok(())
        })
    };
    if let Err(e) = store.await {
        tracing::error!(error = %e, "could not store idempotency record");
    }
    Response::from_parts(rparts, Body::from(rbytes))
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

/// Clears in-flight records left by a previous process (called at start-up).
pub fn clear_in_flight(conn: &rusqlite::Connection) -> rusqlite::Result<usize> {
    conn.exec("DELETE FROM idempotency_keys WHERE state = 'in_flight'", [])
}
