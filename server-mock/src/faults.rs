//! Fault injection (`--faults`, off by default): a seeded fraction of requests fails the
//! way real networks and servers fail, so clients can prove they lose and double nothing.
//!
//! - [`FaultConfig`] / [`parse_faults`]: the `--faults 'rate=0.1,kinds=503,429,slow,…,slow=2s'`
//!   spec (plus the `--faults-seed` seed).
//! - [`Faults`]: the running injector — a seeded RNG (one draw per eligible request, so the
//!   same seed over the same number of requests injects the same number of faults) and
//!   in-memory counters per kind (they reset when the server restarts).
//! - [`inject`]: the middleware (mounted in [`crate::spawn_with_routes`] inside
//!   `middleware::outer` and `tenancy::resolve_tenant`, around the whole router, so every
//!   route — 404s and 405s included — can be faulted, and fault answers still carry the
//!   request id and the `OpenPartner-Extensions` header). `/health` and `/dev/faults` are
//!   never faulted.
//! - `OpenPartner-Mock-Fault: <kind>` forces one fault on one request, only when faults are
//!   enabled (even with `rate=0`); an unknown kind is 400 `invalid_fault`. Without
//!   `--faults` the header is ignored.
//!
//! The kinds ([`FaultKind`]):
//! - `503`: `503 {"error":"service_unavailable"}` without `Retry-After` (the handler does
//!   not run; clients fall back to their own backoff).
//! - `429`: `429 {"error":"rate_limited"}` with `Retry-After: 1` and the rate-limit headers
//!   of the real limiter ([`crate::ratelimit::injected_limit`]); the handler does not run.
//! - `reset-before`: the connection is closed before the handler runs; nothing is written.
//! - `reset-after`: the handler runs to its end (its job committed, an `Idempotency-Key`
//!   record stored with it), then the connection is dropped instead of answered — the same
//!   dropped answer as the `drop_after_commit` test hook ([`crate::respond::dropped`]).
//!   A request whose handler writes nothing (a GET, a 4xx) is handled and its answer
//!   dropped the same way.
//! - `slow`: the handler runs, and its answer is sent after the configured delay
//!   (`slow=2s` by default).
//! - `truncate`: the handler runs; the answer's headers promise its full `Content-Length`,
//!   the body stops after half of it and the connection is closed. (An answer of fewer
//!   than two bytes cannot be cut: it is dropped as in `reset-after`.)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// `OpenPartner-Mock-Fault`: forces one fault kind on a request (faults enabled only).
pub const FAULT_HEADER: HeaderName = HeaderName::from_static("openpartner-mock-fault");

/// Paths never faulted (after tenant-prefix stripping).
pub const EXEMPT_PATHS: &[&str] = &["/health", "/dev/faults"];

/// The default `slow` delay.
pub const DEFAULT_SLOW: Duration = Duration::from_secs(2);

/// How long a truncated body waits after its first half before failing.
const TRUNCATE_PAUSE: Duration = Duration::from_millis(20);

/// The longest `slow` delay accepted.
pub const MAX_SLOW: Duration = Duration::from_secs(60);

/// One way a request can fail (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// `503 service_unavailable`, handler not run.
    ServiceUnavailable,
    /// `429 rate_limited` with the limiter's headers, handler not run.
    RateLimited,
    /// Connection closed before the handler runs.
    ResetBefore,
    /// Handler runs and commits, then the connection is dropped.
    ResetAfter,
    /// Answer delayed by the configured delay.
    Slow,
    /// Body cut off after half of the promised `Content-Length`.
    Truncate,
}

impl FaultKind {
    /// Every kind, in the order of the fault log.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::ServiceUnavailable,
        FaultKind::RateLimited,
        FaultKind::ResetBefore,
        FaultKind::ResetAfter,
        FaultKind::Slow,
        FaultKind::Truncate,
    ];

    /// The kind's name in `--faults`, the header and the fault log.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::ServiceUnavailable => "503",
            FaultKind::RateLimited => "429",
            FaultKind::ResetBefore => "reset-before",
            FaultKind::ResetAfter => "reset-after",
            FaultKind::Slow => "slow",
            FaultKind::Truncate => "truncate",
        }
    }

    /// The kind named `s` (exact, case-insensitive), if any.
    pub fn from_name(s: &str) -> Option<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
    }

    fn index(self) -> usize {
        FaultKind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or_default()
    }

    fn names() -> String {
        FaultKind::ALL.map(FaultKind::name).join(", ")
    }
}

/// What `--faults` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Fraction of eligible requests that get a fault, in `0..=1` (0: only the ones the
    /// `OpenPartner-Mock-Fault` header forces).
    pub rate: f64,
    /// Kinds a random fault is drawn from, uniformly (no duplicates, at least one).
    pub kinds: Vec<FaultKind>,
    /// Delay of the `slow` kind.
    pub slow: Duration,
    /// Seed of the RNG (`--faults-seed`): the same seed over the same number of requests
    /// injects the same faults in the same order.
    pub seed: u64,
}

/// Parses a `--faults` spec: comma-separated `rate=F` (required, `0..=1`),
/// `kinds=K,K,…` (default: every kind; names in [`FaultKind::name`]; the list runs until
/// the next `key=`), `slow=2s` / `slow=500ms` (the `slow` delay, default 2 s, at most
/// 60 s). `seed` is `--faults-seed`.
///
/// Errors: a message naming the part that is wrong (unknown setting, unknown kind, bad
/// number, missing rate, empty kinds).
pub fn parse_faults(spec: &str, seed: u64) -> Result<FaultConfig, String> {
    let mut rate = None;
    let mut kinds: Option<Vec<FaultKind>> = None;
    let mut slow = DEFAULT_SLOW;
    let mut in_kinds = false;
    for part in spec.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(format!("empty part in --faults '{spec}'"));
        }
        match part.split_once('=') {
            Some((key, value)) => {
                in_kinds = false;
                match key.trim() {
                    "rate" => {
                        let r: f64 = value.trim().parse().map_err(|_| {
                            format!("fault rate must be a number from 0 to 1, got '{part}'")
                        })?;
                        if !(0.0..=1.0).contains(&r) {
                            return Err(format!(
                                "fault rate must be a number from 0 to 1, got '{part}'"
                            ));
                        }
                        rate = Some(r);
                    }
                    "kinds" => {
                        kinds = Some(Vec::new());
                        in_kinds = true;
                        if !value.trim().is_empty() {
                            push_kind(kinds.as_mut(), value)?;
                        }
                    }
                    "slow" => slow = parse_delay(value).map_err(|e| format!("{e} in '{part}'"))?,
                    other => {
                        return Err(format!(
                            "unknown fault setting '{other}' in '{part}' (expected rate=, kinds=, slow=)"
                        ))
                    }
                }
            }
            None if in_kinds => push_kind(kinds.as_mut(), part)?,
            None => {
                return Err(format!(
                    "'{part}' in --faults is not key=value (expected rate=, kinds=, slow=)"
                ))
            }
        }
    }
    let rate = rate.ok_or_else(|| format!("--faults '{spec}' needs a rate, e.g. rate=0.1"))?;
    let kinds = kinds.unwrap_or_else(|| FaultKind::ALL.to_vec());
    if kinds.is_empty() {
        return Err(format!("--faults '{spec}': kinds= lists no kind"));
    }
    Ok(FaultConfig {
        rate,
        kinds,
        slow,
        seed,
    })
}

fn push_kind(kinds: Option<&mut Vec<FaultKind>>, name: &str) -> Result<(), String> {
    let kind = FaultKind::from_name(name).ok_or_else(|| {
        format!(
            "unknown fault kind '{}' (expected one of {})",
            name.trim(),
            FaultKind::names()
        )
    })?;
    if let Some(kinds) = kinds {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(())
}

/// `2s`, `500ms`, `1m`; a bare number is seconds. At most [`MAX_SLOW`].
fn parse_delay(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let err = || format!("the slow delay must look like 2s or 500ms, got '{s}'");
    let (num, unit_ms) = if let Some(x) = s.strip_suffix("ms") {
        (x, 1)
    } else if let Some(x) = s.strip_suffix('s') {
        (x, 1000)
    } else if let Some(x) = s.strip_suffix('m') {
        (x, 60_000)
    } else {
        (s, 1000)
    };
    let n: u64 = num.trim().parse().map_err(|_| err())?;
    let d = Duration::from_millis(n.checked_mul(unit_ms).ok_or_else(err)?);
    if d > MAX_SLOW {
        return Err(format!("the slow delay must be at most 60s, got '{s}'"));
    }
    Ok(d)
}

/// The running injector: the config, the seeded RNG and the counters (in memory: they
/// start at zero with every server start).
#[derive(Debug)]
pub struct Faults {
    config: FaultConfig,
    rng: Mutex<StdRng>,
    counts: [AtomicU64; 6],
}

impl Faults {
    /// An injector for `config`, its RNG seeded with `config.seed`.
    pub fn new(config: FaultConfig) -> Faults {
        Faults {
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            config,
            counts: Default::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// Draws for one eligible request: `Some(kind)` for a fraction `rate` of the calls,
    /// the kind uniform over `kinds` (never with no kinds).
    pub fn draw(&self) -> Option<FaultKind> {
        let mut rng = match self.rng.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if self.config.kinds.is_empty() || rng.random::<f64>() >= self.config.rate {
            return None;
        }
        let i = rng.random_range(0..self.config.kinds.len());
        self.config.kinds.get(i).copied()
    }

    fn record(&self, kind: FaultKind) {
        self.counts[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// How many faults of `kind` were injected since the server started.
    pub fn injected(&self, kind: FaultKind) -> u64 {
        self.counts[kind.index()].load(Ordering::Relaxed)
    }

    /// The fault log (`GET /dev/faults`).
    pub fn log(&self) -> FaultLog {
        let n = |k| self.injected(k);
        let injected = InjectedCounts {
            service_unavailable: n(FaultKind::ServiceUnavailable),
            rate_limited: n(FaultKind::RateLimited),
            reset_before: n(FaultKind::ResetBefore),
            reset_after: n(FaultKind::ResetAfter),
            slow: n(FaultKind::Slow),
            truncate: n(FaultKind::Truncate),
        };
        FaultLog {
            enabled: true,
            rate: Some(self.config.rate),
            kinds: self.config.kinds.iter().map(|k| k.name()).collect(),
            slow_ms: Some(u64::try_from(self.config.slow.as_millis()).unwrap_or(u64::MAX)),
            seed: Some(self.config.seed),
            total: FaultKind::ALL.into_iter().map(n).sum(),
            injected,
        }
    }
}

/// `GET /dev/faults` answer: what the injector is set to and what it injected since the
/// server started (counters are in memory and reset on restart).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FaultLog {
    /// Whether the server runs with `--faults`.
    pub enabled: bool,
    /// Fraction of requests faulted at random; `null` when disabled.
    #[schema(value_type = Option<f64>, example = 0.1)]
    pub rate: Option<f64>,
    /// Kinds random faults are drawn from (empty when disabled).
    #[schema(example = json!(["503", "429", "reset-before", "reset-after", "slow", "truncate"]))]
    pub kinds: Vec<&'static str>,
    /// Delay of the `slow` kind in milliseconds; `null` when disabled.
    pub slow_ms: Option<u64>,
    /// The RNG seed (`--faults-seed`); `null` when disabled.
    pub seed: Option<u64>,
    /// Faults injected per kind (random and header-forced).
    pub injected: InjectedCounts,
    /// Sum of `injected`.
    pub total: u64,
}

impl FaultLog {
    /// The log of a server without `--faults`: disabled, nothing injected.
    pub fn disabled() -> FaultLog {
        FaultLog {
            enabled: false,
            rate: None,
            kinds: Vec::new(),
            slow_ms: None,
            seed: None,
            injected: InjectedCounts::default(),
            total: 0,
        }
    }
}

/// Faults injected per kind, keyed by the kind's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct InjectedCounts {
    /// `503 service_unavailable` answers.
    #[serde(rename = "503")]
    pub service_unavailable: u64,
    /// `429 rate_limited` answers.
    #[serde(rename = "429")]
    pub rate_limited: u64,
    /// Connections closed before the handler ran.
    #[serde(rename = "reset-before")]
    pub reset_before: u64,
    /// Connections dropped after the handler ran.
    #[serde(rename = "reset-after")]
    pub reset_after: u64,
    /// Delayed answers.
    pub slow: u64,
    /// Bodies cut off mid-way.
    pub truncate: u64,
}

/// State of the [`inject`] middleware: the app (for the 429's headers) and the injector
/// (`None` without `--faults`: every request passes untouched).
#[derive(Clone)]
pub struct Injection {
    /// The app state.
    pub app: AppState,
    /// The injector, when faults are enabled.
    pub faults: Option<Arc<Faults>>,
}

/// The fault middleware (see the module docs). Puts the injector into the request's
/// extensions (read by `GET /dev/faults`), then picks the request's fault: the one the
/// `OpenPartner-Mock-Fault` header forces (unknown → 400 `invalid_fault`), else one draw.
pub async fn inject(State(inj): State<Injection>, mut req: Request, next: Next) -> Response {
    let Some(faults) = inj.faults else {
        return next.run(req).await;
    };
    req.extensions_mut().insert(faults.clone());
    if EXEMPT_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let kind = match req.headers().get(FAULT_HEADER) {
        Some(v) => match v.to_str().ok().and_then(FaultKind::from_name) {
            Some(k) => Some(k),
            None => {
                return ApiError::new(StatusCode::BAD_REQUEST, "invalid_fault")
                    .detail(format!(
                        "{FAULT_HEADER} must be one of {}",
                        FaultKind::names()
                    ))
                    .into_response()
            }
        },
        None => faults.draw(),
    };
    let Some(kind) = kind else {
        return next.run(req).await;
    };
    faults.record(kind);
    tracing::debug!(fault = kind.name(), method = %req.method(), path = %req.uri().path(), "injecting a fault");
    match kind {
        FaultKind::ServiceUnavailable => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable").into_response()
        }
        FaultKind::RateLimited => {
            crate::ratelimit::injected_limit(&inj.app, Duration::from_secs(1))
        }
        FaultKind::ResetBefore => {
            crate::respond::dropped("connection reset before the handler (fault injection)")
        }
        FaultKind::ResetAfter => {
            drop(next.run(req).await);
            crate::respond::dropped("connection reset after the handler (fault injection)")
        }
        FaultKind::Slow => {
            let resp = next.run(req).await;
            tokio::time::sleep(faults.config.slow).await;
            resp
        }
        FaultKind::Truncate => truncate(next.run(req).await).await,
    }
}

/// `resp` with its headers promising the whole body (`Content-Length`) and a body that
/// stops after half of it with an error, so the connection is closed mid-body.
async fn truncate(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return crate::respond::dropped("body failed while being truncated (fault injection)");
    };
    if bytes.len() < 2 {
        return crate::respond::dropped("connection reset after the handler (fault injection)");
    }
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    // The error comes a moment after the first half, so that hyper flushes the headers and
    // the half first (an error on the same poll would close the connection before any
    // byte is written, which is `reset-after`).
    let cut = futures::stream::once(async {
        tokio::time::sleep(TRUNCATE_PAUSE).await;
        Err(std::io::Error::other("body truncated (fault injection)"))
    });
    let chunks = futures::stream::once(async { Ok::<Bytes, std::io::Error>(half) }).chain(cut);
    Response::from_parts(parts, Body::from_stream(chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_spec() {
        let c = parse_faults(
            "rate=0.1,kinds=503,429,reset-before,reset-after,slow,truncate",
            1,
        )
        .unwrap();
        assert_eq!(c.rate, 0.1);
        assert_eq!(c.kinds, FaultKind::ALL.to_vec());
        assert_eq!(c.slow, DEFAULT_SLOW);
        assert_eq!(c.seed, 1);
        let c = parse_faults("kinds=slow,503, slow=250ms ,rate=1", 9).unwrap();
        assert_eq!(
            c.kinds,
            vec![FaultKind::Slow, FaultKind::ServiceUnavailable]
        );
        assert_eq!(c.slow, Duration::from_millis(250));
        assert_eq!(c.rate, 1.0);
        let c = parse_faults("rate=0", 0).unwrap();
        assert_eq!(c.kinds.len(), 6, "kinds default to all");
        assert_eq!(
            parse_faults("rate=0,slow=3", 0).unwrap().slow,
            Duration::from_secs(3)
        );
    }

    #[test]
    fn parse_errors_name_the_bad_part() {
        let err = |s: &str| parse_faults(s, 0).unwrap_err();
        assert!(err("rate=2").contains("'rate=2'"), "{}", err("rate=2"));
        assert!(err("rate=x").contains("'rate=x'"));
        assert!(err("kinds=503").contains("needs a rate"));
        assert!(err("rate=0.1,kinds=503,boom").contains("'boom'"));
        assert!(err("rate=0.1,kinds=").contains("lists no kind"));
        assert!(err("rate=0.1,colour=red").contains("'colour'"));
        assert!(err("503,rate=0.1").contains("'503'"));
        assert!(err("rate=0.1,slow=2h").contains("'slow=2h'"));
        assert!(err("rate=0.1,slow=61s").contains("at most 60s"));
        assert!(err("rate=0.1,,kinds=503").contains("empty part"));
    }

    #[test]
    fn the_draw_follows_rate_and_seed() {
        let cfg = |rate, seed| parse_faults(&format!("rate={rate}"), seed).unwrap();
        let count = |f: &Faults| (0..1000).filter(|_| f.draw().is_some()).count();
        let a = Faults::new(cfg(0.3, 5));
        let b = Faults::new(cfg(0.3, 5));
        let (na, nb) = (count(&a), count(&b));
        assert_eq!(na, nb, "same seed, same faults");
        assert!((200..400).contains(&na), "{na}");
        assert_eq!(count(&Faults::new(cfg(0.0, 5))), 0);
        assert_eq!(count(&Faults::new(cfg(1.0, 5))), 1000);
        // Every kind gets drawn.
        let all = Faults::new(cfg(1.0, 3));
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.insert(all.draw().unwrap());
        }
        assert_eq!(seen.len(), 6);
    }
}
