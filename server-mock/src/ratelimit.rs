//! Rate limits (API.md §5) on `governor` (GCRA). A quota of N per W lets a burst of N
//! through and replenishes one request every W/N, which is the sliding equivalent of
//! upstream's fixed window. governor's `StateInformationMiddleware` reports the remaining
//! burst capacity; the reset time is derived from it: the bucket is full again after
//! `(limit − remaining) × W/N`.
//!
//! - Global budget (`Config::rate_limit`, default 600/300 s, `None` = off): keyed per
//!   client IP, or — with extensions on — per credential for authenticated requests.
//! - Per-route budgets ([`ROUTE_LIMITS`], per IP, independent of the global switch unless
//!   `Config::route_limits` is false). Add a route by appending to the table.
//!
//! Every rate-limited response carries `RateLimit: limit=…, remaining=…, reset=…` and
//! `RateLimit-Policy: N;w=W`; with extensions also `X-RateLimit-Limit/Remaining/Reset`
//! (reset as unix seconds), including the fallbacks' 404 `route_not_found` and 405
//! ([`count_unrouted`]). A 429 answers `{"error":"rate_limited"}` with `Retry-After`.
//! `/health` is outside the rate-limited route group. A 429 for `POST /attribution/identify`
//! (a browser route) also carries that route's CORS headers: they are added around the
//! whole router by [`crate::routes::events::identify_cors`], so the limiter needs no
//! knowledge of CORS and no early rejection of that route can miss them.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::auth::{Auth, ClientIp};
use crate::config::RateLimit;
use crate::error::ApiError;
use crate::state::AppState;

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// Per-route limits: (method, path after tenant stripping, requests per minute).
pub const ROUTE_LIMITS: &[(&str, &str, u32)] = &[
    ("POST", "/auth/signin", 10),
    ("POST", "/auth/magic/verify", 30),
    ("POST", "/attribution/identify", 120),
];

/// Named budgets checked from handlers with [`RateLimits::check_named`]:
/// (name, requests per minute). Keys are chosen by the caller (e.g. the tenant id).
pub const NAMED_LIMITS: &[(&str, u32)] = &[("login-links", 30)];

struct Limiter {
    limit: u32,
    window: Duration,
    inner: Keyed,
}

impl Limiter {
    fn new(rl: RateLimit) -> Option<Limiter> {
        let n = NonZeroU32::new(rl.requests)?;
        let quota = Quota::with_period(rl.window / rl.requests)?.allow_burst(n);
        Some(Limiter {
            limit: rl.requests,
            window: rl.window,
            inner: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
        })
    }

    fn check(&self, key: &str) -> Decision {
        let key = key.to_owned();
        let per_cell = self.window / self.limit;
        match self.inner.check_key(&key) {
            Ok(snap) => {
                let remaining = snap.remaining_burst_capacity();
                let reset = per_cell * (self.limit.saturating_sub(remaining));
                Decision {
                    allowed: true,
                    limit: self.limit,
                    window: self.window,
                    remaining,
                    reset,
                    retry_after: Duration::ZERO,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Decision {
                    allowed: false,
                    limit: self.limit,
                    window: self.window,
                    remaining: 0,
                    reset: per_cell * self.limit,
                    retry_after: wait,
                }
            }
        }
    }
}

struct Decision {
    allowed: bool,
    limit: u32,
    window: Duration,
    remaining: u32,
    reset: Duration,
    retry_after: Duration,
}

/// All limiters of a server.
pub struct RateLimits {
    global: Option<Limiter>,
    routes: Vec<(Method, &'static str, Limiter)>,
    named: Vec<(&'static str, Limiter)>,
}

impl RateLimits {
    /// Builds the limiters for a configuration.
    pub fn new(global: Option<RateLimit>, route_limits: bool) -> Self {
        let routes = if route_limits {
            ROUTE_LIMITS
                .iter()
                .filter_map(|(m, p, n)| {
                    let method = Method::from_bytes(m.as_bytes()).ok()?;
                    let l = Limiter::new(RateLimit {
                        requests: *n,
                        window: Duration::from_secs(60),
                    })?;
                    Some((method, *p, l))
                })
                .collect()
        } else {
            Vec::new()
        };
        let named = NAMED_LIMITS
            .iter()
            .filter_map(|(name, n)| {
                let l = Limiter::new(RateLimit {
                    requests: *n,
                    window: Duration::from_secs(60),
                })?;
                Some((*name, l))
            })
            .collect();
        RateLimits {
            global: global.and_then(Limiter::new),
            routes,
            named,
        }
    }

    /// Checks the named budget `name` (see [`NAMED_LIMITS`]) for `key`; over budget →
    /// `Err(429 rate_limited)` with `Retry-After`. Unknown names always pass.
    pub fn check_named(&self, name: &str, key: &str) -> Result<(), ApiError> {
        let Some((_, l)) = self.named.iter().find(|(n, _)| *n == name) else {
            return Ok(());
        };
        let d = l.check(key);
        if d.allowed {
            Ok(())
        } else {
            Err(
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited").header(
                    axum::http::header::RETRY_AFTER,
                    &ceil_secs(d.retry_after).max(1).to_string(),
                ),
            )
        }
    }

    /// True when the global limiter is on.
    pub fn global_enabled(&self) -> bool {
        self.global.is_some()
    }

    /// Drops idle keys (called periodically).
    pub fn retain_recent(&self) {
        if let Some(g) = &self.global {
            g.inner.retain_recent();
        }
        for (_, _, l) in &self.routes {
            l.inner.retain_recent();
        }
        for (_, l) in &self.named {
            l.inner.retain_recent();
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    let s = d.as_secs();
    if d.subsec_nanos() > 0 {
        s + 1
    } else {
        s
    }
}

fn set_headers(resp: &mut Response, d: &Decision, ext: bool) {
    let h = resp.headers_mut();
    let reset = ceil_secs(d.reset);
    let mut put = |name: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    put(
        "ratelimit",
        format!(
            "limit={}, remaining={}, reset={}",
            d.limit, d.remaining, reset
        ),
    );
    put(
        "ratelimit-policy",
        format!("{};w={}", d.limit, d.window.as_secs()),
    );
    if ext {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        put("x-ratelimit-limit", d.limit.to_string());
        put("x-ratelimit-remaining", d.remaining.to_string());
        put("x-ratelimit-reset", (now + reset).to_string());
        if !d.allowed {
            put("retry-after", ceil_secs(d.retry_after).max(1).to_string());
        }
    }
}

fn limited(d: &Decision, ext: bool) -> Response {
    let mut resp = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited").into_response();
    set_headers(&mut resp, d, ext);
    if !ext {
        // Retry-After is plain HTTP; give it even in base mode.
        if let Ok(v) = HeaderValue::from_str(&ceil_secs(d.retry_after).max(1).to_string()) {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
    }
    resp
}

/// A 429 `rate_limited` that no budget decided (fault injection, [`crate::faults`]): the
/// same answer and headers as a spent global budget — `RateLimit`/`RateLimit-Policy` of the
/// configured budget (the default 600/300s when the limiter is off), remaining 0, with
/// extensions `X-RateLimit-*`, and `Retry-After: retry_after` (rounded up to seconds, at
/// least 1).
pub fn injected_limit(state: &AppState, retry_after: Duration) -> Response {
    let rl = state.config.rate_limit.unwrap_or_default();
    let d = Decision {
        allowed: false,
        limit: rl.requests,
        window: rl.window,
        remaining: 0,
        reset: rl.window,
        retry_after,
    };
    limited(&d, state.ext())
}

/// Counts a request that no route answers (the fallbacks' 404 `route_not_found` and 405
/// `method_not_allowed`) against the global budget — the base API's limiter is app-wide —
/// keyed per client IP (no credential is resolved for an unknown route). Takes the
/// fallback's answer `resp`; returns it with the RateLimit headers, or the 429 when the
/// budget is spent. With the global limiter off, `resp` unchanged.
pub fn count_unrouted(state: &AppState, ip: Option<&ClientIp>, mut resp: Response) -> Response {
    let Some(global) = &state.limits.global else {
        return resp;
    };
    let ext = state.ext();
    let ip = ip
        .map(|c| c.0.to_canonical().to_string())
        .unwrap_or_else(|| "unknown".into());
    let d = global.check(&format!("ip:{ip}"));
    if !d.allowed {
        return limited(&d, ext);
    }
    set_headers(&mut resp, &d, ext);
    resp
}

/// Route-group middleware (after [`crate::auth::resolve_auth`]).
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ext = state.ext();
    let ip = req
        .extensions()
        .get::<ClientIp>()
        .map(|c| c.0.to_canonical().to_string())
        .unwrap_or_else(|| "unknown".into());
    let limits = state.limits.clone();

    // per-route, per IP
    for (m, p, l) in &limits.routes {
        if req.method() == m && req.uri().path() == *p {
            let d = l.check(&format!("{p}|{ip}"));
            if !d.allowed {
                return limited(&d, ext);
            }
        }
    }

    let Some(global) = &limits.global else {
        return next.run(req).await;
    };
    let key = match (
        ext,
        req.extensions()
            .get::<Auth>()
            .and_then(|a| a.credential_id()),
    ) {
        (true, Some(cred)) => format!("cred:{cred}"),
        _ => format!("ip:{ip}"),
    };
    let d = global.check(&key);
    if !d.allowed {
        return limited(&d, ext);
    }
    let mut resp = next.run(req).await;
    set_headers(&mut resp, &d, ext);
    resp
}
