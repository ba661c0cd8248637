//! Retry policy and the pure retry decision function.
//!
//! The executor asks [`decide`] after every failed attempt; the function looks only at its
//! arguments (policy, attempt number, outcome, method, whether an idempotency key was sent,
//! server capabilities), so the whole table is unit-tested without a network.
//!
//! Rules (API.md §5, §6; DESIGN.md §2):
//! - 429 is always retried (the server rejected the request before handling it).
//! - A connection that was never established is always retried.
//! - 408, 500, 502, 503, 504 and timeouts / transport failures after the request may have
//!   been sent are retried only when a resend is harmless: the method is idempotent by HTTP
//!   semantics (GET, HEAD, OPTIONS, PUT, DELETE), or it is a POST carrying an
//!   `Idempotency-Key` that the server honours (it advertises the `idempotency` extension
//!   and the request is authenticated and not under `/auth/`). A POST to a server without
//!   `idempotency` is therefore never resent after a 5xx or a timeout: a resent
//!   `POST /attribution/events` would double the money.
//! - Every other status (400, 401, 403, 404, 409, 422, …) is final.
//! - Waits: the server's hint (`Retry-After` in seconds or HTTP date, `X-RateLimit-Reset` in
//!   unix seconds, `RateLimit: …, reset=N` in seconds) when present — a hint beyond
//!   `max_retry_after` gives up at once with the 429 —, else exponential backoff with full
//!   jitter: `random(0 ..= min(max_delay, base_delay × 2^retry))`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Method;

use crate::capabilities::{Capabilities, Extension};

/// Picks the actual wait given an upper bound (full jitter picks uniformly in `0..=upper`).
pub type JitterFn = Arc<dyn Fn(Duration) -> Duration + Send + Sync>;

/// How the client retries failed attempts. Cheap to clone.
///
/// Defaults: 3 retries (4 attempts), base delay 200 ms, backoff cap 10 s, server wait hints
/// honoured up to 60 s, full jitter from `rand`.
#[derive(Clone)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    jitter: JitterFn,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_retries", &self.max_retries)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("max_retry_after", &self.max_retry_after)
            .finish_non_exhaustive()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            jitter: Arc::new(full_jitter),
        }
    }
}

fn full_jitter(upper: Duration) -> Duration {
    use rand::Rng;
    let max = u64::try_from(upper.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=max))
}

impl RetryPolicy {
    /// No retries at all: every failure is returned at once.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }
    /// Maximum number of retries after the first attempt (default 3).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }
    /// Base delay of the exponential backoff (default 200 ms).
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }
    /// Cap of the exponential backoff (default 10 s).
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }
    /// Longest server wait hint honoured (default 60 s); a longer hint gives up at once.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }
    /// Replaces the jitter source (for tests): receives the backoff upper bound and returns
    /// the wait to use.
    pub fn jitter(mut self, f: impl Fn(Duration) -> Duration + Send + Sync + 'static) -> Self {
        self.jitter = Arc::new(f);
        self
    }
    /// Waits exactly the backoff upper bound (deterministic; for tests).
    pub fn no_jitter(self) -> Self {
        self.jitter(|d| d)
    }
    /// The configured maximum number of retries.
    pub fn retries(&self) -> u32 {
        self.max_retries
    }
    /// The backoff upper bound before retry number `retry` (0-based), before jitter.
    pub fn backoff_bound(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// What happened to one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered with a non-2xx status; `retry_after` is its wait hint, if any.
    Status {
        /// HTTP status.
        status: u16,
        /// Parsed wait hint (see [`wait_hint`]).
        retry_after: Option<Duration>,
    },
    /// The connection was never established: the request was certainly not sent.
    NotSent,
    /// The attempt timed out; `sent` is whether the server may have received it.
    Timeout {
        /// Whether the request may have reached the server.
        sent: bool,
    },
    /// Another transport failure; `sent` is whether the server may have received it.
    Transport {
        /// Whether the request may have reached the server.
        sent: bool,
    },
}

/// The decision for one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then resend (same request id and idempotency key).
    Retry(Duration),
    /// Return the failure to the caller.
    GiveUp,
}

/// Whether a request may be sent twice without harm.
///
/// `deduplicated_post` must be `true` only for a POST that carries an `Idempotency-Key` the
/// server honours (authenticated, not `/auth/*`); the capability check is done here.
pub fn resend_is_safe(method: &Method, deduplicated_post: bool, caps: &Capabilities) -> bool {
    let idempotent_method = matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    );
    idempotent_method
        || (*method == Method::POST && deduplicated_post && caps.has(Extension::Idempotency))
}

/// The pure retry decision. `retries_done` is the number of retries already made (0 after
/// the first attempt). See the module docs for the table.
pub fn decide(
    policy: &RetryPolicy,
    retries_done: u32,
    outcome: &Outcome,
    method: &Method,
    deduplicated_post: bool,
    caps: &Capabilities,
) -> Decision {
    if retries_done >= policy.max_retries {
        return Decision::GiveUp;
    }
    let safe = resend_is_safe(method, deduplicated_post, caps);
    let backoff = || (policy.jitter)(policy.backoff_bound(retries_done)).min(policy.max_delay);
    let with_hint = |hint: Option<Duration>| match hint {
        Some(h) if h > policy.max_retry_after => Decision::GiveUp,
        Some(h) => Decision::Retry(h),
        None => Decision::Retry(backoff()),
    };
    match outcome {
        Outcome::Status {
            status: 429,
            retry_after,
        } => with_hint(*retry_after),
        Outcome::Status {
            status: 408 | 500 | 502 | 503 | 504,
            retry_after,
        } if safe => with_hint(*retry_after),
        Outcome::Status { .. } => Decision::GiveUp,
        Outcome::NotSent => Decision::Retry(backoff()),
        Outcome::Timeout { sent: false } | Outcome::Transport { sent: false } => {
            Decision::Retry(backoff())
        }
        Outcome::Timeout { sent: true } | Outcome::Transport { sent: true } if safe => {
            Decision::Retry(backoff())
        }
        Outcome::Timeout { .. } | Outcome::Transport { .. } => Decision::GiveUp,
    }
}

/// Extracts the server's wait hint from response headers, relative to `now`.
///
/// Order: `Retry-After` (delta seconds or HTTP date); then, for 429 only, `X-RateLimit-Reset`
/// (unix seconds; a value below 10⁹ is read as delta seconds) and the IETF draft
/// `RateLimit: limit=…, remaining=…, reset=N` (delta seconds). Missing or malformed headers
/// mean "no information" (`None`).
pub fn wait_hint(status: u16, headers: &http::HeaderMap, now: SystemTime) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(v) = get("retry-after") {
        if let Ok(secs) = v.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        if let Ok(date) = chrono::DateTime::parse_from_rfc2822(v) {
            let target = UNIX_EPOCH + Duration::from_secs(u64::try_from(date.timestamp()).ok()?);
            return Some(target.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    if status != 429 {
        return None;
    }
    if let Some(v) = get("x-ratelimit-reset") {
        if let Ok(n) = v.parse::<u64>() {
            if n < 1_000_000_000 {
                return Some(Duration::from_secs(n));
            }
            let target = UNIX_EPOCH + Duration::from_secs(n);
            return Some(target.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    if let Some(v) = get("ratelimit") {
        for part in v.split([',', ';']) {
            let mut kv = part.splitn(2, '=');
            let (k, val) = (kv.next().map(str::trim), kv.next().map(str::trim));
            if k == Some("reset") {
                if let Some(Ok(n)) = val.map(str::parse::<u64>) {
                    return Some(Duration::from_secs(n));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(idem: bool) -> Capabilities {
        if idem {
            Capabilities::from_header("idempotency")
        } else {
            Capabilities::none_known()
        }
    }

    fn st(status: u16) -> Outcome {
        Outcome::Status {
            status,
            retry_after: None,
        }
    }

    #[test]
    fn decision_table() {
        let p = RetryPolicy::default().no_jitter();
        let get = Method::GET;
        let post = Method::POST;
        let patch = Method::PATCH;
        let r0 = Decision::Retry(Duration::from_millis(200));
        // (outcome, method, key sent, server idempotency, expected)
        let table: Vec<(Outcome, &Method, bool, bool, Decision)> = vec![
            (st(429), &get, false, false, r0),
            (st(429), &post, false, false, r0),
            (st(502), &get, false, false, r0),
            (st(503), &get, false, false, r0),
            (st(504), &get, false, false, r0),
            (st(408), &get, false, false, r0),
            (st(500), &get, false, false, r0),
            (st(500), &Method::DELETE, false, false, r0),
            (st(503), &Method::PUT, false, false, r0),
            // POST without server idempotency: never resent once it may have arrived.
            (st(503), &post, true, false, Decision::GiveUp),
            (st(500), &post, true, false, Decision::GiveUp),
            (st(408), &post, true, false, Decision::GiveUp),
            (
                Outcome::Timeout { sent: true },
                &post,
                true,
                false,
                Decision::GiveUp,
            ),
            (
                Outcome::Transport { sent: true },
                &post,
                true,
                false,
                Decision::GiveUp,
            ),
            // POST with key on a server that honours it.
            (st(503), &post, true, true, r0),
            (st(500), &post, true, true, r0),
            (st(408), &post, true, true, r0),
            (Outcome::Timeout { sent: true }, &post, true, true, r0),
            // POST without a key stays unsafe even on an idempotency server.
            (st(503), &post, false, true, Decision::GiveUp),
            (st(503), &patch, false, true, Decision::GiveUp),
            // Never established: always resend.
            (Outcome::NotSent, &post, false, false, r0),
            (Outcome::Timeout { sent: false }, &post, false, false, r0),
            (Outcome::Timeout { sent: true }, &get, false, false, r0),
            // Other 4xx: final.
            (st(400), &get, false, true, Decision::GiveUp),
            (st(401), &get, false, true, Decision::GiveUp),
            (st(403), &get, false, true, Decision::GiveUp),
            (st(404), &get, false, true, Decision::GiveUp),
            (st(409), &post, true, true, Decision::GiveUp),
            (st(422), &post, true, true, Decision::GiveUp),
            (st(501), &get, false, true, Decision::GiveUp),
        ];
        for (i, (o, m, key, idem, want)) in table.into_iter().enumerate() {
            assert_eq!(
                decide(&p, 0, &o, m, key, &caps(idem)),
                want,
                "row {i}: {o:?} {m}"
            );
        }
    }

    #[test]
    fn backoff_grows_and_caps_and_stops() {
        let p = RetryPolicy::default().no_jitter().max_retries(10);
        let c = caps(false);
        let d = |n| decide(&p, n, &st(503), &Method::GET, false, &c);
        assert_eq!(d(0), Decision::Retry(Duration::from_millis(200)));
        assert_eq!(d(1), Decision::Retry(Duration::from_millis(400)));
        assert_eq!(d(2), Decision::Retry(Duration::from_millis(800)));
        assert_eq!(d(6), Decision::Retry(Duration::from_secs(10)));
        assert_eq!(d(10), Decision::GiveUp);
        let p3 = RetryPolicy::default();
        assert_eq!(
            decide(&p3, 3, &st(429), &Method::GET, false, &c),
            Decision::GiveUp
        );
        assert_eq!(
            decide(&RetryPolicy::none(), 0, &st(429), &Method::GET, false, &c),
            Decision::GiveUp
        );
    }

    #[test]
    fn jitter_is_injected_and_bounded() {
        let p = RetryPolicy::default().jitter(|upper| upper / 2);
        let c = caps(false);
        assert_eq!(
            decide(&p, 1, &Outcome::NotSent, &Method::GET, false, &c),
            Decision::Retry(Duration::from_millis(200))
        );
        let real = RetryPolicy::default();
        for _ in 0..100 {
            match decide(&real, 2, &Outcome::NotSent, &Method::GET, false, &c) {
                Decision::Retry(d) => assert!(d <= Duration::from_millis(800)),
                Decision::GiveUp => panic!("should retry"),
            }
        }
    }

    #[test]
    fn server_hint_honoured_within_cap() {
        let p = RetryPolicy::default().no_jitter();
        let c = caps(false);
        let hint = |s| Outcome::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(s)),
        };
        assert_eq!(
            decide(&p, 0, &hint(1), &Method::POST, false, &c),
            Decision::Retry(Duration::from_secs(1))
        );
        assert_eq!(
            decide(&p, 0, &hint(60), &Method::GET, false, &c),
            Decision::Retry(Duration::from_secs(60))
        );
        assert_eq!(
            decide(&p, 0, &hint(61), &Method::GET, false, &c),
            Decision::GiveUp
        );
        let p2 = p.max_retry_after(Duration::from_secs(5));
        assert_eq!(
            decide(&p2, 0, &hint(6), &Method::GET, false, &c),
            Decision::GiveUp
        );
    }

    #[test]
    fn wait_hint_parsing() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut h = http::HeaderMap::new();
        assert_eq!(wait_hint(429, &h, now), None);
        h.insert(
            "ratelimit",
            "limit=600, remaining=0, reset=30".parse().unwrap(),
        );
        assert_eq!(wait_hint(429, &h, now), Some(Duration::from_secs(30)));
        assert_eq!(wait_hint(503, &h, now), None);
        h.insert("x-ratelimit-reset", "1800000007".parse().unwrap());
        assert_eq!(wait_hint(429, &h, now), Some(Duration::from_secs(7)));
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(wait_hint(429, &h, now), Some(Duration::from_secs(2)));
        assert_eq!(wait_hint(503, &h, now), Some(Duration::from_secs(2)));
        // HTTP date 5 s after `now`.
        let date = chrono::DateTime::from_timestamp(1_800_000_005, 0).unwrap();
        let s = date.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        h.insert("retry-after", s.parse().unwrap());
        assert_eq!(wait_hint(429, &h, now), Some(Duration::from_secs(5)));
        // Past dates mean "now".
        h.insert(
            "retry-after",
            "Thu, 01 Jan 1970 00:00:00 GMT".parse().unwrap(),
        );
        assert_eq!(wait_hint(429, &h, now), Some(Duration::ZERO));
        // Garbage falls through to the other headers.
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(wait_hint(429, &h, now), Some(Duration::from_secs(7)));
    }
}
