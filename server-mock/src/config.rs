//! Server configuration ([`Config`]) and its small value types.

use crate::db::Synchronous;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;

use crate::clock::Clock;

/// Single-tenant self-host or multi-tenant hosted mode (API.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tenancy {
    /// One tenant, id `01J0000000DEFAULTTENANT0000`, slug `default`; `/t/…` → 404.
    #[default]
    Single,
    /// Tenants addressed by `/t/<slug>/…` or `/api/t/<slug>/…`.
    Multi,
}

impl FromStr for Tenancy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "single" => Ok(Tenancy::Single),
            "multi" => Ok(Tenancy::Multi),
            other => Err(format!(
                "tenancy must be 'single' or 'multi', got '{other}'"
            )),
        }
    }
}

/// A request budget: `requests` per `window` (`600/300s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window (≥ 1).
    pub requests: u32,
    /// Window length (≥ 1 s).
    pub window: Duration,
}

impl Default for RateLimit {
    /// The base API's 600 requests per 5 minutes.
    fn default() -> Self {
        RateLimit {
            requests: 600,
            window: Duration::from_secs(300),
        }
    }
}

/// Parses `--rate-limit`: `N/Ws` (also `N/Wm`, `N/Wh`, bare `N/W` = seconds) or `off`
/// (→ `None`).
pub fn parse_rate_limit(s: &str) -> Result<Option<RateLimit>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") || s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let err = || format!("rate limit must look like 600/300s or 'off', got '{s}'");
    let (n, w) = s.split_once('/').ok_or_else(err)?;
    let requests: u32 = n.trim().parse().map_err(|_| err())?;
    let w = w.trim();
    let (num, mult) = if let Some(x) = w.strip_suffix('s') {
        (x, 1)
    } else if let Some(x) = w.strip_suffix('m') {
        (x, 60)
    } else if let Some(x) = w.strip_suffix('h') {
        (x, 3600)
    } else {
        (w, 1)
    };
    let secs: u64 = num.trim().parse().map_err(|_| err())?;
    let total = secs
        .checked_mul(mult)
        .filter(|s| *s > 0 && *s <= 366 * 24 * 3600);
    match total {
        Some(total) if requests > 0 => Ok(Some(RateLimit {
            requests,
            window: Duration::from_secs(total),
        })),
        _ => Err(err()),
    }
}

/// Parses a comma-separated CIDR list; bare IPs become /32 or /128.
pub fn parse_cidrs(s: &str) -> Result<Vec<IpNet>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(parse_ip_or_net)
        .collect()
}

/// One IP or CIDR (v4 or v6).
pub fn parse_ip_or_net(s: &str) -> Result<IpNet, String> {
    if let Ok(n) = s.parse::<IpNet>() {
        return Ok(n.trunc());
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("'{s}' is not an IP address or CIDR"))
}

/// The \[EXT\] webhook retry schedule of API.md §3.6: 30 s, 2 min, 10 min, 1 h.
pub const DEFAULT_WEBHOOK_SCHEDULE: [Duration; 4] = [
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(3600),
];

/// Parses `--webhook-schedule`: comma-separated delays, each a number with an optional
/// unit `ms`, `s` (default), `m` or `h` (`1s,2s,500ms`), at least one, each 1 ms–24 h.
pub fn parse_schedule(s: &str) -> Result<Vec<Duration>, String> {
    let err = |part: &str| {
        format!("webhook schedule must look like 30s,2m,10m,1h (each 1ms-24h), got '{part}'")
    };
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (num, unit_ms) = if let Some(x) = part.strip_suffix("ms") {
            (x, 1)
        } else if let Some(x) = part.strip_suffix('s') {
            (x, 1000)
        } else if let Some(x) = part.strip_suffix('m') {
            (x, 60_000)
        } else if let Some(x) = part.strip_suffix('h') {
            (x, 3_600_000)
        } else {
            (part, 1000)
        };
        let n: u64 = num.trim().parse().map_err(|_| err(part))?;
        let ms = n
            .checked_mul(unit_ms)
            .filter(|ms| (1..=24 * 3_600_000).contains(ms))
            .ok_or_else(|| err(part))?;
        out.push(Duration::from_millis(ms));
    }
    if out.is_empty() {
        return Err(err(s));
    }
    Ok(out)
}

/// Everything the server needs to run. Build with [`Config::default`] or
/// [`Config::for_tests`] and adjust the public fields.
#[derive(Clone)]
pub struct Config {
    /// TCP port; 0 picks a free one.
    pub port: u16,
    /// Bind address (default 127.0.0.1).
    pub bind: IpAddr,
    /// SQLite path or `":memory:"`.
    pub db: String,
    /// Bootstrap admin key (`ADMIN_API_KEY`), valid in every tenant.
    pub admin_key: Option<String>,
    /// \[EXT\] Platform key for `/platform/*` (multi mode).
    pub platform_key: Option<String>,
    /// Single or multi tenant.
    pub tenancy: Tenancy,
    /// Tenant slugs created at start in multi mode.
    pub tenants: Vec<String>,
    /// Portal origin for magic links (default: the server's own origin).
    pub portal_url: Option<String>,
    /// Adds `Secure` to the session cookie.
    pub cookie_secure: bool,
    /// Proxies whose `X-Forwarded-For` is trusted (never by default).
    pub trusted_proxies: Vec<IpNet>,
    /// Global budget; `None` = off. Per-route limits stay unless `route_limits` is false.
    pub rate_limit: Option<RateLimit>,
    /// Per-route limits (`/auth/signin` 10/min, `/auth/magic/verify` 30/min per IP).
    pub route_limits: bool,
    /// Enables the \[EXT\] behaviours and the `OpenPartner-Extensions` header.
    pub extensions: bool,
    /// Clock (tests inject [`Clock::manual`]).
    pub clock: Clock,
    /// Magic-link lifetime (15 min).
    pub magic_link_ttl: Duration,
    /// Session lifetime (30 days).
    pub session_ttl: Duration,
    /// Idempotency record lifetime (24 h).
    pub idempotency_ttl: Duration,
    /// Simulated network latency added before every request is handled (`--latency`;
    /// `None` = none). Loopback has no round trip, so client-concurrency benchmarks use it
    /// to model a real deployment (see BENCHMARKS.md).
    pub latency: Option<Duration>,
    /// `PRAGMA synchronous` for a file database (`--synchronous`; default
    /// [`Synchronous::Full`]).
    pub synchronous: Synchronous,
    /// Address ranges that outbound requests (webhook deliveries, postbacks) may reach
    /// although the SSRF guard forbids them (`--outbound-allow-private-cidrs`; default none;
    /// [`Config::for_tests`] allows loopback).
    pub outbound_allow_private_cidrs: Vec<IpNet>,
    /// Deadline of one outbound request: connect, headers and the body snippet (10 s).
    pub outbound_timeout: Duration,
    /// DNS resolver for outbound requests (`None` = the system's); tests use
    /// [`crate::outbound::StaticResolver`].
    pub outbound_resolver: Option<std::sync::Arc<dyn crate::outbound::Resolver>>,
    /// \[EXT\] Webhook attempts per delivery in total (`--webhook-attempts`, default 5;
    /// 1 = the base behaviour, no automatic retries). With extensions off, 1 is used.
    pub webhook_attempts: u32,
    /// \[EXT\] Delay before automatic attempt 2, 3, … (`--webhook-schedule`, default
    /// 30 s, 2 min, 10 min, 1 h; ±20 % jitter is added). A list shorter than
    /// `webhook_attempts - 1` repeats its last value.
    pub webhook_schedule: Vec<Duration>,
    /// Fault injection (`--faults`, [`crate::faults`]); `None` = off (the default): no
    /// request is faulted and the `OpenPartner-Mock-Fault` header is ignored.
    pub faults: Option<crate::faults::FaultConfig>,
    /// Test hooks for the in-process server (none is reachable from the command line).
    pub hooks: TestHooks,
}

/// Hooks that tests of the in-process server use to provoke failures at exact points.
/// Cheap to clone; clones share their state, so a test keeps one and arms it while the
/// server runs.
#[derive(Debug, Clone, Default)]
pub struct TestHooks {
    drop_after_commit: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl TestHooks {
    /// Arms the hook for the next `n` requests whose handler ends in a database job
    /// ([`crate::respond::respond`]): after the job's commit their connection is dropped
    /// instead of answered, as when a server crashes between committing and responding.
    pub fn drop_after_commit(&self, n: usize) {
        self.drop_after_commit
            .store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// True (and counts one down) when the response just committed must be dropped.
    pub fn take_drop_after_commit(&self) -> bool {
        self.drop_after_commit
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            )
            .is_ok()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("port", &self.port)
            .field("bind", &self.bind)
            .field("db", &self.db)
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field(
                "platform_key",
                &self.platform_key.as_ref().map(|_| "<redacted>"),
            )
            .field("tenancy", &self.tenancy)
            .field("tenants", &self.tenants)
            .field("portal_url", &self.portal_url)
            .field("cookie_secure", &self.cookie_secure)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("rate_limit", &self.rate_limit)
            .field("route_limits", &self.route_limits)
            .field("extensions", &self.extensions)
            .field("latency", &self.latency)
            .field("synchronous", &self.synchronous)
            .field(
                "outbound_allow_private_cidrs",
                &self.outbound_allow_private_cidrs,
            )
            .field("outbound_timeout", &self.outbound_timeout)
            .field("webhook_attempts", &self.webhook_attempts)
            .field("webhook_schedule", &self.webhook_schedule)
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            db: ":memory:".into(),
            admin_key: None,
            platform_key: None,
            tenancy: Tenancy::Single,
            tenants: Vec::new(),
            portal_url: None,
            cookie_secure: false,
            trusted_proxies: Vec::new(),
            rate_limit: Some(RateLimit::default()),
            route_limits: true,
            extensions: true,
            clock: Clock::system(),
            magic_link_ttl: Duration::from_secs(15 * 60),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            latency: None,
            synchronous: Synchronous::default(),
            outbound_allow_private_cidrs: Vec::new(),
            outbound_timeout: Duration::from_secs(10),
            outbound_resolver: None,
            webhook_attempts: 5,
            webhook_schedule: DEFAULT_WEBHOOK_SCHEDULE.to_vec(),
            faults: None,
            hooks: TestHooks::default(),
        }
    }
}

impl Config {
    /// In-memory, port 0, the given bootstrap admin key, global rate limit off, a manual
    /// clock (advance it through `config.clock`), and outbound requests allowed to
    /// loopback (`127.0.0.0/8`, `::1`) so webhooks reach a receiver in the test.
    pub fn for_tests(admin_key: impl Into<String>) -> Self {
        Config {
            admin_key: Some(admin_key.into()),
            rate_limit: None,
            clock: Clock::manual(),
            outbound_allow_private_cidrs: vec![
                IpNet::V4(ipnet::Ipv4Net::new(Ipv4Addr::new(127, 0, 0, 0), 8).expect("/8")),
                IpNet::from(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)),
            ],
            ..Config::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_schedules_parse_with_units_and_reject_nonsense() {
        let ms = Duration::from_millis;
        assert_eq!(
            parse_schedule("30s,2m,10m,1h").unwrap(),
            DEFAULT_WEBHOOK_SCHEDULE.to_vec()
        );
        assert_eq!(
            parse_schedule(" 1s, 500ms ,2").unwrap(),
            vec![ms(1000), ms(500), ms(2000)]
        );
        for bad in ["", ",", "0s", "1x", "-1s", "25h", "s"] {
            assert!(parse_schedule(bad).is_err(), "{bad:?}");
        }
    }
}
