//! Outer middleware (runs for every request, before routing):
//! request id, client address, the `OpenPartner-Extensions` header, and a safety net that
//! turns any non-JSON error response (a framework default) into the API's error shape.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

use crate::auth::ClientIp;
use crate::error::ApiError;
use crate::state::AppState;

/// `X-Request-Id`.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `OpenPartner-Extensions`.
pub const EXTENSIONS: HeaderName = HeaderName::from_static("openpartner-extensions");

/// The request id of a request (request extension).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Extensions this server implements. Modules that add an extension append its name here.
pub const IMPLEMENTED_EXTENSIONS: &[&str] = &[
    "rate-limit-headers",
    "idempotency",
    "external-id",
    "ip-allowlist",
    "commission-filters",
    "login-links",
    "webhook-retries",
    "platform",
];

/// The advertised list for this configuration (empty with `--no-extensions`;
/// `rate-limit-headers` only when the global limiter is on, `webhook-retries` only with
/// more than one webhook attempt, `platform` only in multi mode with a platform key).
pub fn advertised(state: &AppState) -> Vec<&'static str> {
    if !state.ext() {
        return Vec::new();
    }
    IMPLEMENTED_EXTENSIONS
        .iter()
        .copied()
        .filter(|e| *e != "rate-limit-headers" || state.limits.global_enabled())
        .filter(|e| {
            *e != "platform"
                || (state.config.tenancy == crate::config::Tenancy::Multi
                    && state.config.platform_key.is_some())
        })
        .filter(|e| *e != "webhook-retries" || state.config.webhook_attempts > 1)
        .collect()
}

/// The client address: the socket peer, or — only when the peer is a trusted proxy — the
/// right-most `X-Forwarded-For` entry outside the trusted ranges (the left-most entry when
/// all are trusted; the peer when an entry does not parse).
pub fn client_ip(peer: IpAddr, xff: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if trusted.is_empty() || !is_trusted(&peer) {
        return peer;
    }
    let Some(xff) = xff else { return peer };
    let mut entries = Vec::new();
    for part in xff.split(',') {
        match part.trim().parse::<IpAddr>() {
            Ok(ip) => entries.push(ip.to_canonical()),
            Err(_) => return peer,
        }
    }
    for ip in entries.iter().rev() {
        if !is_trusted(ip) {
            return *ip;
        }
    }
    entries.first().copied().unwrap_or(peer)
}

/// Outermost middleware.
pub async fn outer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let rid = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(crate::util::new_id);
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    let xff: Option<String> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .fold(None, |acc: Option<String>, v| {
            Some(match acc {
                Some(a) => format!("{a}, {v}"),
                None => v.to_owned(),
            })
        });
    let ip = client_ip(peer, xff.as_deref(), &state.config.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    req.extensions_mut().insert(RequestId(rid.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_owned();

    if let Some(latency) = state.config.latency {
        tokio::time::sleep(latency).await;
    }
    let mut resp = next.run(req).await;
    resp = safety_net(resp);
    tracing::debug!(%method, %path, status = resp.status().as_u16(), request_id = %rid, "request");

    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&rid) {
        h.insert(REQUEST_ID, v);
    }
    let ext = advertised(&state);
    if !ext.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&ext.join(", ")) {
            h.insert(EXTENSIONS, v);
        }
    }
    resp
}

/// Maps a non-JSON error response (axum defaults, body-limit layers) to the API shape,
/// keeping its headers (e.g. `Allow`).
fn safety_net(resp: Response) -> Response {
    let status = resp.status();
    if status.as_u16() < 400 {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.starts_with("application/json"))
        .unwrap_or(false);
    if is_json {
        return resp;
    }
    let (status, code) = match status.as_u16() {
        404 => (status, "route_not_found"),
        405 => (status, "method_not_allowed"),
        413 => (status, "payload_too_large"),
        // the only framework 400 left is a path parameter that is not valid UTF-8
        400 => (status, "invalid_request"),
        415 | 422 => (StatusCode::BAD_REQUEST, "invalid_body"),
        429 => (status, "rate_limited"),
        s if s >= 500 => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        _ => (status, "bad_request"),
    };
    let (mut parts, _) = resp.into_parts();
    let new = ApiError::new(status, code).into_response();
    let (nparts, body) = new.into_parts();
    parts.status = nparts.status;
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(ct) = nparts.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    Response::from_parts(parts, body)
}

/// Fallback for unknown routes: 404 `route_not_found`, counted by the global rate limit
/// ([`crate::ratelimit::count_unrouted`]: RateLimit headers, or 429 when spent).
pub async fn route_not_found(State(state): State<AppState>, req: Request) -> Response {
    crate::ratelimit::count_unrouted(
        &state,
        req.extensions().get::<ClientIp>(),
        ApiError::route_not_found().into_response(),
    )
}

/// Fallback for known paths with another method: 405 `method_not_allowed` (axum adds
/// the `Allow` header), counted by the global rate limit like [`route_not_found`].
pub async fn method_not_allowed(State(state): State<AppState>, req: Request) -> Response {
    crate::ratelimit::count_unrouted(
        &state,
        req.extensions().get::<ClientIp>(),
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").into_response(),
    )
}

/// Panic handler for `CatchPanicLayer`: 500 `internal_error` (the panic message is logged,
/// never sent).
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    tracing::error!(panic = %msg, "handler panicked");
    ApiError::internal().into_response()
}
