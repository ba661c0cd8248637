//! Outbound HTTP for webhook deliveries and partner postbacks, behind an SSRF guard
//! (API.md §3.6).
//!
//! Every request the server makes on a tenant's behalf goes through [`Outbound::send`]:
//! - **The guard works at connect time, not on the URL string.** Host names are resolved
//!   by [`Outbound`]'s own DNS resolver, which drops every address in a forbidden range
//!   (loopback, private, link-local, unique-local, multicast, unspecified, broadcast,
//!   shared/CGNAT, reserved and documentation ranges — IPv4, IPv6, and IPv4 embedded in
//!   IPv6: `::ffff:a.b.c.d`, NAT64, 6to4) and hands the HTTP client only the addresses it
//!   checked, so the connection goes to an address that passed — a second DNS answer
//!   (rebinding) is never asked for. IP-literal URLs are checked the same way before
//!   sending. Addresses inside `--outbound-allow-private-cidrs` are let through (tests
//!   and local sandboxes deliver to loopback).
//! - **Redirects are never followed** (a 3xx is the receiver's answer, not a 2xx), no
//!   proxy from the environment is used (it would connect on our behalf, unchecked), and
//!   each request has a deadline ([`Config::outbound_timeout`], 10 s by default) covering
//!   connect, headers and the part of the body that is read.
//! - Only the first [`SNIPPET_BYTES`] of a response body are read (kept for the attempt log).
//! - [`Outbound::send`] never fails and never panics: every outcome, including a refused
//!   target, is an [`OutboundResult`].

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::config::Config;

/// How much of a receiver's response body is kept (4 KiB).
pub const SNIPPET_BYTES: usize = 4096;

/// The flag that opens forbidden ranges, named in every "blocked" error.
const ALLOW_FLAG: &str = "--outbound-allow-private-cidrs";

/// A future resolving a host name to addresses.
pub type Lookup = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Resolves host names for outbound requests. The default is the system resolver; tests
/// use [`StaticResolver`] to make a name answer a chosen (e.g. private) address.
pub trait Resolver: Send + Sync {
    /// The addresses of `host` (a DNS name, never an IP literal).
    fn lookup(&self, host: &str) -> Lookup;
}

/// The operating system's resolver (`getaddrinfo` through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn lookup(&self, host: &str) -> Lookup {
        let host = host.to_owned();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// A fixed table of host name → addresses (tests: DNS rebinding, private answers).
/// Names not in the table do not resolve.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    hosts: Vec<(String, Vec<IpAddr>)>,
}

impl StaticResolver {
    /// A resolver answering each `(name, address)` pair; a name may appear several times.
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, IpAddr)>) -> Self {
        let mut hosts: Vec<(String, Vec<IpAddr>)> = Vec::new();
        for (name, ip) in entries {
            let name = name.to_ascii_lowercase();
            match hosts.iter_mut().find(|(n, _)| *n == name) {
                Some((_, ips)) => ips.push(ip),
                None => hosts.push((name, vec![ip])),
            }
        }
        StaticResolver { hosts }
    }
}

impl Resolver for StaticResolver {
    fn lookup(&self, host: &str) -> Lookup {
        let host = host.to_ascii_lowercase();
        let found = self
            .hosts
            .iter()
            .find(|(n, _)| *n == host)
            .map(|(_, ips)| ips.clone());
        Box::pin(async move {
            found.ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no address for {host}"),
                )
            })
        })
    }
}

/// One outbound request.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    /// `POST` for webhook deliveries, `GET` for postbacks.
    pub method: http::Method,
    /// Absolute `http`/`https` URL.
    pub url: String,
    /// Header names and values, sent as given.
    pub headers: Vec<(String, String)>,
    /// The raw body (webhooks), `None` for none.
    pub body: Option<bytes::Bytes>,
}

/// What happened to one outbound request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResult {
    /// The receiver's status; `None` when no response came (blocked target, DNS, connect
    /// error, timeout).
    pub http_status: Option<u16>,
    /// `None` on a 2xx answer; else `"HTTP <code>"`, the transport error, or
    /// `"blocked: …"` when the SSRF guard refused the target.
    pub error: Option<String>,
    /// The first 4 KiB of the response body (lossy UTF-8); `None` without a response.
    pub response_snippet: Option<String>,
    /// Wall time from the start of the request to the end of reading the snippet, in ms.
    pub duration_ms: u64,
    /// `Retry-After` of a 429 or 503 answer (delay in seconds, or an HTTP date turned into
    /// the delay from now); `None` otherwise.
    pub retry_after: Option<Duration>,
    blocked: bool,
}

impl OutboundResult {
    /// True for a 2xx answer.
    pub fn is_success(&self) -> bool {
        matches!(self.http_status, Some(s) if (200..300).contains(&s))
    }

    /// True when the SSRF guard refused the target (nothing was sent).
    pub fn blocked(&self) -> bool {
        self.blocked
    }

    fn failed(error: String, started: Instant, blocked: bool) -> Self {
        OutboundResult {
            http_status: None,
            error: Some(error),
            response_snippet: None,
            duration_ms: elapsed_ms(started),
            retry_after: None,
            blocked,
        }
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Why an address may not be contacted, or `None` when it may be.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_unspecified() || o[0] == 0 {
        Some("an unspecified (\"this network\") address")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.is_broadcast() {
        Some("the broadcast address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_documentation()
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 198 && (o[1] & 0xfe) == 18)
        || o[0] >= 240
    {
        Some("a reserved address")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if ip.is_multicast() {
        return Some("a multicast address");
    }
    if (s[0] & 0xfe00) == 0xfc00 {
        return Some("a unique-local address");
    }
    if (s[0] & 0xffc0) == 0xfe80 {
        return Some("a link-local address");
    }
    if (s[0] & 0xffc0) == 0xfec0 {
        return Some("a site-local address");
    }
    // IPv4 carried inside IPv6: NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return forbidden_v4(v4);
    }
    if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return forbidden_v4(v4);
    }
    // Deprecated IPv4-compatible (::a.b.c.d) and documentation (2001:db8::/32).
    if s[0..6] == [0, 0, 0, 0, 0, 0] || (s[0] == 0x2001 && s[1] == 0x0db8) {
        return Some("a reserved address");
    }
    None
}

/// The guard: which addresses may be contacted.
#[derive(Debug, Clone, Default)]
struct Guard {
    allow: Vec<IpNet>,
}

impl Guard {
    /// `Err(reason)` when `ip` is in a forbidden range and not allowed.
    fn check(&self, ip: IpAddr) -> Result<(), String> {
        let canonical = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if self
            .allow
            .iter()
            .any(|n| n.contains(&ip) || n.contains(&canonical))
        {
            return Ok(());
        }
        match forbidden_reason(ip) {
            Some(why) => Err(format!(
                "blocked: {canonical} is {why} (allow it with {ALLOW_FLAG})"
            )),
            None => Ok(()),
        }
    }
}

/// The error the checking resolver returns; found again in the client's error chain.
#[derive(Debug)]
struct Blocked(String);

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Blocked {}

/// reqwest's DNS hook: resolve, keep only the addresses the guard accepts.
struct CheckingResolver {
    inner: Arc<dyn Resolver>,
    guard: Guard,
}

impl reqwest::dns::Resolve for CheckingResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let lookup = self.inner.lookup(&host);
        let guard = self.guard.clone();
        Box::pin(async move {
            let ips = lookup.await.map_err(|e| {
                Box::new(std::io::Error::new(
                    e.kind(),
                    format!("cannot resolve {host}: {e}"),
                )) as Box<dyn std::error::Error + Send + Sync>
            })?;
            let mut first_refusal = None;
            let mut ok: Vec<SocketAddr> = Vec::new();
            for ip in ips {
                match guard.check(ip) {
                    Ok(()) => ok.push(SocketAddr::new(ip, 0)),
                    Err(why) => {
                        first_refusal.get_or_insert(why);
                    }
                }
            }
            if ok.is_empty() {
                let why = first_refusal.unwrap_or_else(|| format!("cannot resolve {host}"));
                return Err(Box::new(Blocked(format!("{why} (resolved from {host})")))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The server's outbound HTTP client (one per server, shared by all tasks).
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    guard: Guard,
    timeout: Duration,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("allow", &self.guard.allow)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Outbound {
    /// Built once at start from [`Config::outbound_allow_private_cidrs`],
    /// [`Config::outbound_timeout`] and [`Config::outbound_resolver`].
    pub fn from_config(config: &Config) -> Self {
        let guard = Guard {
            allow: config.outbound_allow_private_cidrs.clone(),
        };
        let inner: Arc<dyn Resolver> = config
            .outbound_resolver
            .clone()
            .unwrap_or_else(|| Arc::new(SystemResolver));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(config.outbound_timeout)
            .dns_resolver(Arc::new(CheckingResolver {
                inner,
                guard: guard.clone(),
            }))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Outbound {
            client,
            guard,
            timeout: config.outbound_timeout,
        }
    }

    /// Sends `req` and reports what happened (see [`OutboundResult`]); never fails.
    pub async fn send(&self, req: OutboundRequest) -> OutboundResult {
        let started = Instant::now();
        let url = match reqwest::Url::parse(&req.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            Ok(u) => {
                return OutboundResult::failed(
                    format!("unsupported URL scheme '{}'", u.scheme()),
                    started,
                    false,
                )
            }
            Err(e) => return OutboundResult::failed(format!("invalid URL: {e}"), started, false),
        };
        // IP literals never reach the resolver: check them here.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return OutboundResult::failed("URL has no host".into(), started, false),
        };
        if let Some(ip) = literal {
            if let Err(why) = self.guard.check(ip) {
                return OutboundResult::failed(why, started, true);
            }
        }
        let mut builder = self.client.request(req.method, url);
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if let Some(body) = req.body {
            builder = builder.body(body);
        }
        let mut resp = match builder.send().await {
            Ok(r) => r,
            Err(e) => {
                let blocked = find_blocked(&e);
                let msg = blocked.clone().unwrap_or_else(|| transport_error(&e));
                return OutboundResult::failed(msg, started, blocked.is_some());
            }
        };
        let status = resp.status().as_u16();
        let retry_after = if status == 429 || status == 503 {
            resp.headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after)
        } else {
            None
        };
        // The client's timeout covers the body too: the end of the body, a body error or
        // the deadline all end the loop with what arrived; the status is the receiver's
        // answer either way.
        let mut snippet: Vec<u8> = Vec::new();
        while snippet.len() < SNIPPET_BYTES {
            let Ok(Some(chunk)) = resp.chunk().await else {
                break;
            };
            let room = SNIPPET_BYTES - snippet.len();
            snippet.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        OutboundResult {
            http_status: Some(status),
            error: (!(200..300).contains(&status)).then(|| format!("HTTP {status}")),
            response_snippet: Some(String::from_utf8_lossy(&snippet).into_owned()),
            duration_ms: elapsed_ms(started),
            retry_after,
            blocked: false,
        }
    }
}

/// The guard's refusal, when it is somewhere in `e`'s source chain.
fn find_blocked(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(b) = s.downcast_ref::<Blocked>() {
            return Some(b.0.clone());
        }
        source = s.source();
    }
    None
}

/// A transport error as one line: the kind, then the innermost causes.
fn transport_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut parts: Vec<String> = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {}", parts.join(": "))
    }
}

/// `Retry-After`: delay seconds, or an HTTP date (the delay from now; a past date is 0).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let delta = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forbidden_ranges() {
        for bad in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "100.64.0.1",
            "198.18.0.1",
            "192.0.2.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "::127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(
                forbidden_reason(ip(bad)).is_some(),
                "{bad} must be forbidden"
            );
        }
        for good in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(forbidden_reason(ip(good)), None, "{good} must be allowed");
        }
    }

    #[test]
    fn allow_list_opens_ranges_for_both_forms() {
        let g = Guard {
            allow: vec!["127.0.0.0/8".parse().unwrap()],
        };
        assert!(g.check(ip("127.0.0.1")).is_ok());
        assert!(g.check(ip("::ffff:127.0.0.1")).is_ok());
        let err = g.check(ip("10.0.0.1")).unwrap_err();
        assert!(err.contains("10.0.0.1 is a private address"), "{err}");
        assert!(err.contains(ALLOW_FLAG), "{err}");
        assert!(g.check(ip("::1")).is_err());
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
