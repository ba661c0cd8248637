//! \[EXT\] `Idempotency-Key` (API.md §5) as a route-group middleware, so every POST route
//! (including ones added later) is covered without handler code.
//!
//! Applies to authenticated POSTs (a valid credential that passes its IP allowlist) outside
//! `/auth/*`, when extensions are on. Records live per (tenant, credential id, key) for
//! `Config::idempotency_ttl` (24 h) and hold the SHA-256 of
//! `METHOD \n path[?query] \n raw body` (the query is included: a different query is a
//! different request). Outcomes:
//! - first use: an `in_flight` record is committed, the handler runs, then the response is
//!   stored when it is 2xx or a 4xx other than 401/403/409/429; otherwise the record is
//!   dropped so the request can be retried. Secret-bearing responses (top-level
//!   `plaintext` or `secret`, or a `url` from `…/login-links`) are stored as a marker with
//!   the created `id` only;
//! - repeat with the same hash: the stored status and body with `Idempotent-Replayed: true`,
//!   or 409 `idempotency_replay_unavailable` `{"detail":{"id"}}` for a secret marker, or
//!   409 `idempotency_key_in_flight` while the first request runs;
//! - repeat with a different hash: 422 `idempotency_key_reused`.
//!
//! An in-flight record whose request never finishes (panic, client gone) is removed by a
//! drop guard; records left by a killed process are cleared at start-up. A key that is
//! empty, longer than 255 chars or not visible ASCII → 400 `invalid_idempotency_key`.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};

use crate::auth::Auth;
use crate::db::Db;
use crate::error::ApiError;
use crate::extract::{payload_too_large, MAX_BODY};
use crate::state::AppState;
use crate::tenancy::Tenant;
use crate::util;

/// Request header name.
pub const HEADER: &str = "idempotency-key";
/// Replay marker header.
pub const REPLAYED: &str = "idempotent-replayed";

struct Guard {
    db: Db,
    key: (String, String, String),
    armed: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let db = self.db.clone();
        let (t, c, k) = self.key.clone();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = db
                    .call(move |conn| {
                        conn.execute(
                            "DELETE FROM idempotency_keys WHERE tenant_id=?1 AND credential_id=?2 AND idem_key=?3 AND state='in_flight'",
                            params![t, c, k],
                        )?;
                        Ok(())
                    })
                    .await;
            });
        }
    }
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

    let lookup = {
        let ids = ids.clone();
        let hash = hash.clone();
        state
            .db
            .call(move |c| {
                let tx = c.transaction()?;
                let row: Option<(String, String, Option<i64>, Option<String>, Option<Vec<u8>>, Option<String>, String)> = tx
                    .query_row(
                        "SELECT request_hash, state, status, content_type, body, created_id, expires_at
                         FROM idempotency_keys WHERE tenant_id=?1 AND credential_id=?2 AND idem_key=?3",
                        params![ids.0, ids.1, ids.2],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
                    )
                    .optional()?;
                let out = match row {
                    Some((rhash, st, status, ct, body, created_id, exp)) if exp > now_iso => {
                        if rhash != hash {
                            Existing::Respond(
                                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
                                    .detail("this Idempotency-Key was used with a different request")
                                    .into_response(),
                            )
                        } else if st == "in_flight" {
                            Existing::Respond(
                                ApiError::conflict("idempotency_key_in_flight")
                                    .detail("a request with this Idempotency-Key is still running")
                                    .into_response(),
                            )
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
                    _ => {
                        tx.execute(
                            "INSERT OR REPLACE INTO idempotency_keys
                             (tenant_id, credential_id, idem_key, request_hash, state, created_at, expires_at)
                             VALUES (?1, ?2, ?3, ?4, 'in_flight', ?5, ?6)",
                            params![ids.0, ids.1, ids.2, hash, now_iso, expires_iso],
                        )?;
                        Existing::Proceed
                    }
                };
                tx.commit()?;
                Ok(out)
            })
            .await
    };
    match lookup {
        Err(e) => return e.into_response(),
        Ok(Existing::Respond(r)) => return r,
        Ok(Existing::Proceed) => {}
    }

    let mut guard = Guard {
        db: state.db.clone(),
        key: ids.clone(),
        armed: true,
    };
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
        state.db.call(move |c| {
            if !storable {
                c.execute(
                    "DELETE FROM idempotency_keys WHERE tenant_id=?1 AND credential_id=?2 AND idem_key=?3",
                    params![ids.0, ids.1, ids.2],
                )?;
                return Ok(());
            }
            let parsed: Option<Value> = serde_json::from_slice(&body_for_store).ok();
            let secret_id = parsed.as_ref().and_then(|v| v.as_object()).and_then(|o| {
                if o.contains_key("plaintext") || o.contains_key("secret") || (is_login_link && o.contains_key("url")) {
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
            match secret_id {
                Some(id) => c.execute(
                    "UPDATE idempotency_keys SET state='secret', status=?4, created_id=?5
                     WHERE tenant_id=?1 AND credential_id=?2 AND idem_key=?3",
                    params![ids.0, ids.1, ids.2, status.as_u16(), id],
                )?,
                None => c.execute(
                    "UPDATE idempotency_keys SET state='done', status=?4, content_type=?5, body=?6
                     WHERE tenant_id=?1 AND credential_id=?2 AND idem_key=?3",
                    params![ids.0, ids.1, ids.2, status.as_u16(), ct, body_for_store],
                )?,
            };
            Ok(())
        })
    };
    if let Err(e) = store.await {
        tracing::error!(error = %e, "could not store idempotency record");
    }
    guard.armed = false;
    drop(guard);
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
    conn.execute("DELETE FROM idempotency_keys WHERE state = 'in_flight'", [])
}
