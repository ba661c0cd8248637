//! Retry policy and the pure retry decision function.
//!
//! The executor asks [`decide`] after every failed attempt; the function looks only at its
//! arguments (policy, what was already spent, outcome, method, whether an idempotency key
//! was sent, server capabilities), so the whole table is unit-tested without a network.
//! This is the only place in the SDK (and in the CLI built on it) that decides to wait.
//!
//! Rules (API.md §5, §6; DESIGN.md §2):
//! - 429 is always retried (the server rejected the request before handling it). With the
//!   default policy a 429 counts as one of the `max_retries`; with a rate-limit budget
//!   ([`RetryPolicy::rate_limit_budget`], set by [`RetryPolicy::bulk`]) 429s are waited out
//!   without counting, until the total time waited on 429s would exceed the budget.
//! - A connection that was never established is always retried.
//! - 408, 500, 502, 503, 504 and timeouts / transport failures after the request may have
//!   been sent are retried only when a resend is harmless: the method is idempotent by HTTP
//!   semantics (GET, HEAD, OPTIONS, PUT, DELETE), or it is a POST carrying an
//!   `Idempotency-Key` that the server honours (it advertises the `idempotency` extension
//!   and the request is authenticated and not under `/auth/`), or a POST the route itself
//!   deduplicates on every server (identify, clicks: [`Dedup::Route`]). The same holds when
//!   the status arrived but the body broke off while it was read. A POST to a server without
//!   `idempotency` is therefore never resent after a 5xx or a timeout: a resent
//!   `POST /attribution/events` would double the money.
//! - 409 `idempotency_key_in_flight` (the same key is being processed right now) is waited
//!   out, when the resend is harmless as above, up to [`RetryPolicy::in_flight_budget`]
//!   in total (default zero: given up at once; [`RetryPolicy::bulk`]: 30 s). The resend is
//!   then answered from the first request's stored response.
//! - Every other status (400, 401, 403, 404, other 409s, 422, …) is final.
//! - Waits: the server's hint (`Retry-After` in seconds or HTTP date, `X-RateLimit-Reset` in
//!   unix seconds, `RateLimit: …, reset=N` in seconds) when present — a hint beyond
//!   `max_retry_after` (or beyond what is left of the rate-limit budget) gives up at once
//!   with the 429 —, else exponential backoff with full jitter:
//!   `random(0 ..= min(max_delay, base_delay × 2^n))`, `n` the number of earlier waits of
//!   the same kind.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Method;

use crate::capabilities::{Capabilities, Extension};

/// Picks the actual wait given an upper bound (full jitter picks uniformly in `0..=upper`).
pub type JitterFn = Arc<dyn Fn(Duration) -> Duration + Send + Sync>;

/// How the client retries failed attempts. Cheap to clone.
///
/// Set it for a whole client ([`crate::ClientBuilder::retry`]) or for one request (every
/// request builder's `.retry(policy)`, or [`crate::Client::with_retry`] for the plain
/// methods).
///
/// Defaults: 3 retries (4 attempts), base delay 200 ms, backoff cap 10 s, server wait hints
/// honoured up to 60 s, 429s counted as retries, no wait on `idempotency_key_in_flight`,
/// full jitter from `rand`.
#[derive(Clone)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    rate_limit_budget: Option<Duration>,
    in_flight_budget: Duration,
    in_flight_base: Duration,
    jitter: JitterFn,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_retries", &self.max_retries)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("max_retry_after", &self.max_retry_after)
            .field("rate_limit_budget", &self.rate_limit_budget)
            .field("in_flight_budget", &self.in_flight_budget)
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
            rate_limit_budget: None,
            in_flight_budget: Duration::ZERO,
            in_flight_base: Duration::from_millis(50),
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
    /// The policy of long bulk runs (imports): a rate limit is never a failure but a wait.
    ///
    /// 429s are waited out (server hint, else jittered backoff) up to 15 minutes of waiting
    /// in total per request, each single hint honoured up to 5 minutes; 5xx and transport
    /// errors are retried 5 times with full jitter (250 ms base, 10 s cap) where a resend is
    /// harmless; `409 idempotency_key_in_flight` is waited out up to 30 s in total.
    pub fn bulk() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(300),
            rate_limit_budget: Some(Duration::from_secs(900)),
            in_flight_budget: Duration::from_secs(30),
            ..RetryPolicy::default()
        }
    }
    /// Maximum number of retries after the first attempt for 5xx / transport failures (and
    /// for 429s when there is no rate-limit budget) (default 3).
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
    /// Longest single server wait hint honoured (default 60 s); a longer hint gives up at
    /// once.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }
    /// Waits out 429s without counting them against `max_retries`, until the total time
    /// waited on 429s for one request would exceed `total` (default: none, 429s count as
    /// retries).
    pub fn rate_limit_budget(mut self, total: Duration) -> Self {
        self.rate_limit_budget = Some(total);
        self
    }
    /// Total time one request may wait on `409 idempotency_key_in_flight` (default zero:
    /// that 409 is returned at once). Waits back off from 50 ms, doubling, capped at 1 s,
    /// with the policy's jitter.
    pub fn in_flight_budget(mut self, total: Duration) -> Self {
        self.in_flight_budget = total;
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
    fn in_flight_bound(&self, wait: u32) -> Duration {
        let factor = 2u32.saturating_pow(wait.min(31));
        self.in_flight_base
            .saturating_mul(factor)
            .min(Duration::from_secs(1))
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
    /// 409 `idempotency_key_in_flight`: a request with the same key is being processed.
    KeyInFlight,
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

/// Which allowance a retry is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// `max_retries` (5xx, transport; 429 without a rate-limit budget).
    Retries,
    /// The rate-limit budget (429 with [`RetryPolicy::rate_limit_budget`]).
    RateLimit,
    /// The in-flight budget (409 `idempotency_key_in_flight`).
    InFlight,
}

/// The decision for one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then resend (same request id and idempotency key), charging the
    /// wait to the given allowance.
    Retry(Duration, Budget),
    /// Return the failure to the caller.
    GiveUp,
}

/// What one request has spent so far; the executor starts from `Spent::default()` and calls
/// [`Spent::charge`] with each retry decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spent {
    /// Retries charged to `max_retries`.
    pub retries: u32,
    /// Waits on 429 charged to the rate-limit budget.
    pub rate_limit_waits: u32,
    /// Total time of those waits.
    pub rate_limit_waited: Duration,
    /// Waits on `idempotency_key_in_flight`.
    pub in_flight_waits: u32,
    /// Total time of those waits.
    pub in_flight_waited: Duration,
}

impl Spent {
    /// Records a retry decided by [`decide`] (a `GiveUp` changes nothing).
    pub fn charge(&mut self, decision: Decision) {
        match decision {
            Decision::GiveUp => {}
            Decision::Retry(_, Budget::Retries) => self.retries += 1,
            Decision::Retry(d, Budget::RateLimit) => {
                self.rate_limit_waits += 1;
                self.rate_limit_waited = self.rate_limit_waited.saturating_add(d);
            }
            Decision::Retry(d, Budget::InFlight) => {
                self.in_flight_waits += 1;
                self.in_flight_waited = self.in_flight_waited.saturating_add(d);
            }
        }
    }
}

/// How the server deduplicates a repeat of a POST (what makes resending it harmless).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dedup {
    /// Not at all: a repeat may be a second write.
    None,
    /// By its `Idempotency-Key`: the POST carries one and is authenticated and not under
    /// `/auth/` — harmless only when the server advertises `idempotency`.
    Key,
    /// By the route itself, on every server: the base API answers a repeat of the same body
    /// as a no-op (`POST /attribution/identify`: one identity per click and user;
    /// `POST /clicks`: the same click id is a replay, API.md §3.3).
    Route,
}

impl From<bool> for Dedup {
    /// `true`: [`Dedup::Key`]; `false`: [`Dedup::None`].
    fn from(keyed: bool) -> Dedup {
        if keyed {
            Dedup::Key
        } else {
            Dedup::None
        }
    }
}

/// Whether a request may be sent twice without harm: an idempotent method, or a POST that
/// the route deduplicates ([`Dedup::Route`]) or that carries a key the server honours
/// ([`Dedup::Key`] and the `idempotency` capability; `true` converts to `Key`).
pub fn resend_is_safe(method: &Method, dedup: impl Into<Dedup>, caps: &Capabilities) -> bool {
    let idempotent_method = matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    );
    idempotent_method
        || (*method == Method::POST
            && match dedup.into() {
                Dedup::None => false,
                Dedup::Key => caps.has(Extension::Idempotency),
                Dedup::Route => true,
            })
}

/// The pure retry decision for one failed attempt, given what the request has already
/// spent. `dedup` is how the server deduplicates a repeat of the request
/// ([`resend_is_safe`]; a `bool` means "carries an honoured key"). See the module docs
/// for the table.
pub fn decide(
    policy: &RetryPolicy,
    spent: &Spent,
    outcome: &Outcome,
    method: &Method,
    dedup: impl Into<Dedup>,
    caps: &Capabilities,
) -> Decision {
    let safe = resend_is_safe(method, dedup, caps);
    let counted = |wait: Duration| {
        if spent.retries >= policy.max_retries {
            Decision::GiveUp
        } else {
            Decision::Retry(wait, Budget::Retries)
        }
    };
    let backoff = || (policy.jitter)(policy.backoff_bound(spent.retries)).min(policy.max_delay);
    let with_hint = |hint: Option<Duration>| match hint {
        Some(h) if h > policy.max_retry_after => Decision::GiveUp,
        Some(h) => counted(h),
        None => counted(backoff()),
    };
    match outcome {
        Outcome::Status {
            status: 429,
            retry_after,
        } => match policy.rate_limit_budget {
            None => with_hint(*retry_after),
            Some(total) => {
                let wait = match retry_after {
                    Some(h) if *h > policy.max_retry_after => return Decision::GiveUp,
                    Some(h) => *h,
                    None => (policy.jitter)(policy.backoff_bound(spent.rate_limit_waits))
                        .min(policy.max_delay),
                };
                if spent.rate_limit_waited.saturating_add(wait) > total {
                    Decision::GiveUp
                } else {
                    Decision::Retry(wait, Budget::RateLimit)
                }
            }
        },
        Outcome::Status {
            status: 408 | 500 | 502 | 503 | 504,
            retry_after,
        } if safe => with_hint(*retry_after),
        Outcome::Status { .. } => Decision::GiveUp,
        Outcome::KeyInFlight if safe => {
            let wait = (policy.jitter)(policy.in_flight_bound(spent.in_flight_waits))
                .min(Duration::from_secs(1));
            if policy.in_flight_budget.is_zero()
                || spent.in_flight_waited.saturating_add(wait) > policy.in_flight_budget
            {
                Decision::GiveUp
            } else {
                Decision::Retry(wait, Budget::InFlight)
            }
        }
        Outcome::KeyInFlight => Decision::GiveUp,
        Outcome::NotSent => counted(backoff()),
        Outcome::Timeout { sent: false } | Outcome::Transport { sent: false } => counted(backoff()),
        Outcome::Timeout { sent: true } | Outcome::Transport { sent: true } if safe => {
            counted(backoff())
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

    fn tried(retries: u32) -> Spent {
        Spent {
            retries,
            ..Spent::default()
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
        let r0 = Decision::Retry(Duration::from_millis(200), Budget::Retries);
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
            // The default policy does not wait on a key in flight.
            (Outcome::KeyInFlight, &post, true, true, Decision::GiveUp),
        ];
        for (i, (o, m, key, idem, want)) in table.into_iter().enumerate() {
            assert_eq!(
                decide(&p, &Spent::default(), &o, m, key, &caps(idem)),
                want,
                "row {i}: {o:?} {m}"
            );
        }
    }

    #[test]
    fn backoff_grows_and_caps_and_stops() {
        let p = RetryPolicy::default().no_jitter().max_retries(10);
        let c = caps(false);
        let d = |n| decide(&p, &tried(n), &st(503), &Method::GET, false, &c);
        assert_eq!(
            d(0),
            Decision::Retry(Duration::from_millis(200), Budget::Retries)
        );
        assert_eq!(
            d(1),
            Decision::Retry(Duration::from_millis(400), Budget::Retries)
        );
        assert_eq!(
            d(2),
            Decision::Retry(Duration::from_millis(800), Budget::Retries)
        );
        assert_eq!(
            d(6),
            Decision::Retry(Duration::from_secs(10), Budget::Retries)
        );
        assert_eq!(d(10), Decision::GiveUp);
        let p3 = RetryPolicy::default();
        assert_eq!(
            decide(&p3, &tried(3), &st(429), &Method::GET, false, &c),
            Decision::GiveUp
        );
        assert_eq!(
            decide(
                &RetryPolicy::none(),
                &Spent::default(),
                &st(429),
                &Method::GET,
                false,
                &c
            ),
            Decision::GiveUp
        );
    }

    #[test]
    fn jitter_is_injected_and_bounded() {
        let p = RetryPolicy::default().jitter(|upper| upper / 2);
        let c = caps(false);
        assert_eq!(
            decide(&p, &tried(1), &Outcome::NotSent, &Method::GET, false, &c),
            Decision::Retry(Duration::from_millis(200), Budget::Retries)
        );
        let real = RetryPolicy::default();
        for _ in 0..100 {
            match decide(&real, &tried(2), &Outcome::NotSent, &Method::GET, false, &c) {
                Decision::Retry(d, _) => assert!(d <= Duration::from_millis(800)),
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
            decide(&p, &Spent::default(), &hint(1), &Method::POST, false, &c),
            Decision::Retry(Duration::from_secs(1), Budget::Retries)
        );
        assert_eq!(
            decide(&p, &Spent::default(), &hint(60), &Method::GET, false, &c),
            Decision::Retry(Duration::from_secs(60), Budget::Retries)
        );
        assert_eq!(
            decide(&p, &Spent::default(), &hint(61), &Method::GET, false, &c),
            Decision::GiveUp
        );
        let p2 = p.max_retry_after(Duration::from_secs(5));
        assert_eq!(
            decide(&p2, &Spent::default(), &hint(6), &Method::GET, false, &c),
            Decision::GiveUp
        );
    }

    fn hinted(status: u16, secs: u64) -> Outcome {
        Outcome::Status {
            status,
            retry_after: Some(Duration::from_secs(secs)),
        }
    }

    #[test]
    fn bulk_decision_table() {
        let p = RetryPolicy::bulk().no_jitter();
        let post = Method::POST;
        let get = Method::GET;
        let none = Spent::default();
        let many_retries = tried(5);
        let rate_limited = |n: u32, secs: u64| Spent {
            rate_limit_waits: n,
            rate_limit_waited: Duration::from_secs(secs),
            ..Spent::default()
        };
        let in_flight = |n: u32, ms: u64| Spent {
            in_flight_waits: n,
            in_flight_waited: Duration::from_millis(ms),
            ..Spent::default()
        };
        let rl = |secs: u64| Decision::Retry(Duration::from_secs(secs), Budget::RateLimit);
        let ms = |n: u64, b: Budget| Decision::Retry(Duration::from_millis(n), b);
        // (spent, outcome, method, key sent, server idempotency, expected)
        let table: Vec<(Spent, Outcome, &Method, bool, bool, Decision)> = vec![
            // 429 with a hint: waited, charged to the rate-limit budget, even for a POST
            // without idempotency (a 429 was not processed).
            (none, hinted(429, 7), &post, false, false, rl(7)),
            (none, hinted(429, 300), &get, false, false, rl(300)),
            // 429s do not use up max_retries…
            (many_retries, hinted(429, 2), &post, true, true, rl(2)),
            // …but the total wait is bounded: 15 min.
            (
                rate_limited(40, 898),
                hinted(429, 2),
                &get,
                false,
                false,
                rl(2),
            ),
            (
                rate_limited(40, 899),
                hinted(429, 2),
                &get,
                false,
                false,
                Decision::GiveUp,
            ),
            // A single hint beyond 5 min gives up at once.
            (none, hinted(429, 301), &get, false, false, Decision::GiveUp),
            // 429 without a hint: jittered backoff counted in 429 waits.
            (
                none,
                st(429),
                &get,
                false,
                false,
                ms(250, Budget::RateLimit),
            ),
            (
                rate_limited(2, 1),
                st(429),
                &get,
                false,
                false,
                ms(1000, Budget::RateLimit),
            ),
            (
                rate_limited(30, 60),
                st(429),
                &get,
                false,
                false,
                ms(10_000, Budget::RateLimit),
            ),
            // 5xx / transport: 5 retries where a resend is harmless.
            (none, st(503), &post, true, true, ms(250, Budget::Retries)),
            (
                tried(4),
                st(502),
                &get,
                false,
                false,
                ms(4000, Budget::Retries),
            ),
            (many_retries, st(503), &get, false, false, Decision::GiveUp),
            (
                none,
                hinted(503, 3),
                &get,
                false,
                false,
                Decision::Retry(Duration::from_secs(3), Budget::Retries),
            ),
            (
                none,
                Outcome::Transport { sent: true },
                &post,
                true,
                true,
                ms(250, Budget::Retries),
            ),
            (
                tried(2),
                Outcome::NotSent,
                &post,
                false,
                false,
                ms(1000, Budget::Retries),
            ),
            // §6 stays: without `idempotency` a POST that may have arrived is never resent.
            (none, st(503), &post, true, false, Decision::GiveUp),
            (none, st(500), &post, true, false, Decision::GiveUp),
            (
                none,
                Outcome::Timeout { sent: true },
                &post,
                true,
                false,
                Decision::GiveUp,
            ),
            (
                none,
                Outcome::Transport { sent: true },
                &post,
                false,
                true,
                Decision::GiveUp,
            ),
            // 409 idempotency_key_in_flight: bounded wait, 50 ms doubling to 1 s, 30 s total.
            (
                none,
                Outcome::KeyInFlight,
                &post,
                true,
                true,
                ms(50, Budget::InFlight),
            ),
            (
                in_flight(3, 350),
                Outcome::KeyInFlight,
                &post,
                true,
                true,
                ms(400, Budget::InFlight),
            ),
            (
                in_flight(10, 9_000),
                Outcome::KeyInFlight,
                &post,
                true,
                true,
                ms(1000, Budget::InFlight),
            ),
            (
                in_flight(40, 29_000),
                Outcome::KeyInFlight,
                &post,
                true,
                true,
                ms(1000, Budget::InFlight),
            ),
            (
                in_flight(41, 29_001),
                Outcome::KeyInFlight,
                &post,
                true,
                true,
                Decision::GiveUp,
            ),
            (
                many_retries,
                Outcome::KeyInFlight,
                &post,
                true,
                true,
                ms(50, Budget::InFlight),
            ),
            // Without a deduplicated key there is nothing to wait for.
            (
                none,
                Outcome::KeyInFlight,
                &post,
                false,
                true,
                Decision::GiveUp,
            ),
            (
                none,
                Outcome::KeyInFlight,
                &post,
                true,
                false,
                Decision::GiveUp,
            ),
            // Other statuses stay final.
            (none, st(409), &post, true, true, Decision::GiveUp),
            (none, st(422), &post, true, true, Decision::GiveUp),
            (none, st(400), &get, false, true, Decision::GiveUp),
        ];
        for (i, (spent, o, m, key, idem, want)) in table.into_iter().enumerate() {
            assert_eq!(
                decide(&p, &spent, &o, m, key, &caps(idem)),
                want,
                "row {i}: {spent:?} {o:?} {m}"
            );
        }
    }

    #[test]
    fn spent_charges_the_decided_budget() {
        let mut s = Spent::default();
        s.charge(Decision::GiveUp);
        assert_eq!(s, Spent::default());
        s.charge(Decision::Retry(Duration::from_secs(2), Budget::RateLimit));
        s.charge(Decision::Retry(Duration::from_secs(3), Budget::RateLimit));
        s.charge(Decision::Retry(Duration::from_millis(50), Budget::InFlight));
        s.charge(Decision::Retry(Duration::from_millis(9), Budget::Retries));
        assert_eq!(
            s,
            Spent {
                retries: 1,
                rate_limit_waits: 2,
                rate_limit_waited: Duration::from_secs(5),
                in_flight_waits: 1,
                in_flight_waited: Duration::from_millis(50),
            }
        );
    }

    #[test]
    fn a_bulk_request_waits_out_a_long_throttle_then_stops() {
        // Replays the executor's loop on a server answering 429 with Retry-After: 60 forever:
        // exactly 15 waits (15 min), then the 429 is returned.
        let p = RetryPolicy::bulk();
        let c = caps(true);
        let mut spent = Spent::default();
        let mut waits = 0;
        loop {
            match decide(&p, &spent, &hinted(429, 60), &Method::POST, true, &c) {
                Decision::GiveUp => break,
                d => {
                    spent.charge(d);
                    waits += 1;
                }
            }
            assert!(waits <= 100, "must stop");
        }
        assert_eq!(waits, 15);
        assert_eq!(spent.rate_limit_waited, Duration::from_secs(900));
        assert_eq!(spent.retries, 0);
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
