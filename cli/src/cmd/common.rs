//! Helpers shared by the attribution-side commands (programs, links, events, clicks,
//! commissions, payouts, export, partner mode): who the credential is, time and money
//! parsing/formatting, the commission listing for admins and partners, confirmation prompts.

use std::io::{IsTerminal, Write};
use std::pin::Pin;

use anyhow::{Context as _, Result};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use futures::stream::{BoxStream, Stream, StreamExt};
use openpartner::capabilities::Extension;
use openpartner::types::{Commission, CommissionStatus, Introspection, Role};
use openpartner::{Client, CommissionStream};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use crate::exit::{self, Code};

/// What the current credential is, from `GET /auth/introspect`.
#[derive(Debug, Clone)]
pub enum Principal {
    /// An admin (every route).
    Admin,
    /// A scoped key (routes of its scopes).
    Scoped(Vec<String>),
    /// A partner: only its own resources, addressed by this id.
    Partner(String),
}

impl Principal {
    /// The partner id in partner mode.
    pub fn partner_id(&self) -> Option<&str> {
        match self {
            Principal::Partner(id) => Some(id),
            _ => None,
        }
    }
}

/// Asks the server who the credential is (`GET /auth/introspect`).
pub async fn principal(client: &Client) -> Result<Principal> {
    let i: Introspection = client
        .auth()
        .introspect()
        .await
        .context("asking the server who this credential is (/auth/introspect)")?;
    Ok(match (&i.role, i.partner_id) {
        (Role::Partner, Some(id)) => Principal::Partner(id),
        (Role::Partner, None) => {
            return Err(exit::fail(
                Code::Error,
                "the server says this is a partner credential but names no partner",
            ))
        }
        (Role::Scoped, _) => Principal::Scoped(i.scopes),
        _ => Principal::Admin,
    })
}

/// Refuses an admin-only command for a partner credential (before any admin route is
/// called, so a partner never sees a 403 from us).
pub fn admin_only(p: &Principal, what: &str) -> Result<()> {
    if let Principal::Partner(_) = p {
        return Err(exit::fail(
            Code::Auth,
            format!("`{what}` needs an admin credential; this is a partner credential"),
        ));
    }
    Ok(())
}

/// Parses `--since`/`--until`: RFC 3339 (`2026-11-20T10:30:00Z`) or a date
/// (`2026-11-20`). A date means the start of that UTC day for `since` and its last
/// millisecond for `until`, so `--since D --until D` covers the whole day D.
pub fn parse_time(s: &str, end_of_day: bool) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let time = if end_of_day {
            NaiveTime::from_hms_milli_opt(23, 59, 59, 999)
        } else {
            NaiveTime::from_hms_opt(0, 0, 0)
        };
        if let Some(t) = time {
            return Ok(d.and_time(t).and_utc());
        }
    }
    Err(exit::usage(format!(
        "invalid time {s:?}: use RFC 3339 (2026-11-20T10:30:00Z) or a date (2026-11-20)"
    )))
}

/// A decimal amount with at least two decimals (`40` → `40.00`), never rounded.
pub fn money(d: Decimal) -> String {
    let mut d = d;
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

/// Parses a decimal from user input (never through `f64`).
pub fn parse_decimal(s: &str, what: &str) -> Result<Decimal> {
    s.trim()
        .parse::<Decimal>()
        .map_err(|_| exit::usage(format!("{what}: {s:?} is not a decimal number")))
}

/// Filters of `commissions list|report|approve|reverse`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommissionFilter {
    /// Only this status (accrued, approved, paid, reversed).
    #[arg(long)]
    pub status: Option<String>,
    /// Only commissions accrued at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only commissions accrued at or before this time (RFC 3339, or YYYY-MM-DD = end of day).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only this partner (admins; a partner credential always sees only itself).
    #[arg(long, value_name = "PARTNER_ID")]
    pub partner: Option<String>,
    /// Only this program.
    #[arg(long, value_name = "PROGRAM_ID")]
    pub program: Option<String>,
}

/// Parsed [`CommissionFilter`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Status.
    pub status: Option<CommissionStatus>,
    /// Lower bound on `accruedAt`.
    pub since: Option<DateTime<Utc>>,
    /// Upper bound on `accruedAt`.
    pub until: Option<DateTime<Utc>>,
    /// Partner.
    pub partner: Option<String>,
    /// Program.
    pub program: Option<String>,
}

impl CommissionFilter {
    /// Validates and parses the flags.
    pub fn parse(&self) -> Result<Filter> {
        let status = match self.status.as_deref() {
            None => None,
            Some(s @ ("accrued" | "approved" | "paid" | "reversed")) => {
                Some(CommissionStatus::from(s.to_string()))
            }
            Some(other) => {
                return Err(exit::usage(format!(
                    "--status {other:?}: use accrued, approved, paid or reversed"
                )))
            }
        };
        Ok(Filter {
            status,
            since: self
                .since
                .as_deref()
                .map(|s| parse_time(s, false))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|s| parse_time(s, true))
                .transpose()?,
            partner: self.partner.clone(),
            program: self.program.clone(),
        })
    }
}

/// Rows per request for commission listings (the API's maximum).
pub const COMMISSION_PAGE: u32 = 500;

/// A stream of commissions, for an admin (the SDK listing with its §6 fallback) or for a
/// partner (`GET /partners/:id/commissions`, the only commission route a partner may call).
pub struct Listing {
    inner: ListingInner,
}

enum ListingInner {
    Sdk(CommissionStream),
    Partner {
        stream: BoxStream<'static, Result<Commission>>,
        truncated: std::sync::Arc<std::sync::atomic::AtomicBool>,
    },
}

impl Listing {
    /// `true` when a server without `commission-filters` returned a full single page: the
    /// results may be incomplete. Meaningful once the stream is drained.
    pub fn possibly_truncated(&self) -> bool {
        match &self.inner {
            ListingInner::Sdk(s) => s.possibly_truncated(),
            ListingInner::Partner { truncated, .. } => {
                truncated.load(std::sync::atomic::Ordering::SeqCst)
            }
        }
    }
}

impl Stream for Listing {
    type Item = Result<Commission>;
    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        match &mut self.inner {
            ListingInner::Sdk(s) => Pin::new(s).poll_next(cx).map(|o| o.map(|r| Ok(r?))),
            ListingInner::Partner { stream, .. } => stream.as_mut().poll_next(cx),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommissionsWire {
    commissions: Vec<Commission>,
    #[serde(default)]
    next_cursor: Option<String>,
}

/// Lists the commissions matching `f`. An admin uses the SDK listing (every page, or the
/// §6 fallback); a partner uses its own `/partners/:id/commissions` (with `cursor`,
/// `since`, `until`, `programId` when the server has `commission-filters`, else one page
/// filtered here). A partner asking for another partner is refused before any request.
pub async fn list_commissions(client: &Client, who: &Principal, f: &Filter) -> Result<Listing> {
    if let Principal::Partner(me) = who {
        if let Some(p) = &f.partner {
            if p != me {
                return Err(exit::fail(
                    Code::Auth,
                    "a partner credential can only list its own commissions",
                ));
            }
        }
        return Ok(partner_listing(client.clone(), me.clone(), f.clone()));
    }
    let mut req = client.commissions().list().page_size(COMMISSION_PAGE);
    if let Some(s) = &f.status {
        req = req.status(s.clone());
    }
    if let Some(t) = f.since {
        req = req.since(t);
    }
    if let Some(t) = f.until {
        req = req.until(t);
    }
    if let Some(p) = &f.partner {
        req = req.partner_id(p);
    }
    if let Some(p) = &f.program {
        req = req.program_id(p);
    }
    Ok(Listing {
        inner: ListingInner::Sdk(req.stream()),
    })
}

/// Partner-mode listing through the SDK's raw executor (the SDK's typed listing would call
/// the admin route `GET /commissions?partnerId=` on servers with `commission-filters`).
fn partner_listing(client: Client, partner: String, f: Filter) -> Listing {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let truncated = Arc::new(AtomicBool::new(false));
    let flag = truncated.clone();
    struct St {
        client: Client,
        partner: String,
        f: Filter,
        cursor: Option<String>,
        done: bool,
        flag: Arc<AtomicBool>,
    }
    let st = St {
        client,
        partner,
        f,
        cursor: None,
        done: false,
        flag,
    };
    let pages = futures::stream::try_unfold(st, |mut st| async move {
        if st.done {
            return Ok::<_, anyhow::Error>(None);
        }
        let mut caps = st.client.capabilities();
        if !caps.known() {
            caps = st.client.refresh_capabilities().await?;
        }
        let ext = caps.has(Extension::CommissionFilters);
        let path = {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("limit", &COMMISSION_PAGE.to_string());
            if let Some(s) = &st.f.status {
                q.append_pair("status", s.as_str());
            }
            if ext {
                if let Some(t) = st.f.since {
                    q.append_pair(
                        "since",
                        &t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    );
                }
                if let Some(t) = st.f.until {
                    q.append_pair(
                        "until",
                        &t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    );
                }
                if let Some(p) = &st.f.program {
                    q.append_pair("programId", p);
                }
                if let Some(c) = &st.cursor {
                    q.append_pair("cursor", c);
                }
            }
            format!(
                "/partners/{}/commissions?{}",
                url::form_urlencoded::byte_serialize(st.partner.as_bytes()).collect::<String>(),
                q.finish()
            )
        };
        let resp = st.client.raw(http::Method::GET, &path, None).await?;
        if !(200..300).contains(&resp.status) {
            let code = resp
                .body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("error")
                .to_string();
            return Err(exit::fail(
                Code::from_http_status(resp.status),
                format!("GET {path}: HTTP {} {code}", resp.status),
            ));
        }
        let body: CommissionsWire = serde_json::from_value(resp.body)
            .context("decoding the partner's commission listing")?;
        let full = body.commissions.len() >= COMMISSION_PAGE as usize;
        let mut items = body.commissions;
        if ext {
            st.cursor = body.next_cursor.filter(|c| !c.is_empty());
            st.done = st.cursor.is_none();
        } else {
            st.done = true;
            if full {
                st.flag.store(true, Ordering::SeqCst);
            }
            let f = st.f.clone();
            items.retain(|c| {
                f.since.is_none_or(|s| c.accrued_at >= s)
                    && f.until.is_none_or(|u| c.accrued_at <= u)
                    && f.program
                        .as_ref()
                        .is_none_or(|p| c.program_id.as_deref() == Some(p.as_str()))
            });
        }
        Ok(Some((items, st)))
    });
    let stream = pages
        .map(|page| match page {
            Ok(items) => futures::stream::iter(items.into_iter().map(Ok)).left_stream(),
            Err(e) => futures::stream::iter(vec![Err(e)]).right_stream(),
        })
        .flatten()
        .boxed();
    Listing {
        inner: ListingInner::Partner { stream, truncated },
    }
}

/// Asks "question [y/N]" on a terminal. With `yes` answers yes without asking; without a
/// terminal on stdin (and no `--yes`) refuses with a usage error, so scripts never block.
pub fn confirm(question: &str, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(exit::usage(
            "refusing to change commissions without confirmation: stdin is not a terminal; \
             pass --yes (or --dry-run to only list them)",
        ));
    }
    let mut err = std::io::stderr().lock();
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_money() {
        let s = parse_time("2026-11-20", false).expect("date");
        assert_eq!(s.to_rfc3339(), "2026-11-20T00:00:00+00:00");
        let u = parse_time("2026-11-20", true).expect("date");
        assert_eq!(
            u.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "2026-11-20T23:59:59.999Z"
        );
        assert!(parse_time("yesterday", false).is_err());
        assert_eq!(money(Decimal::new(40, 0)), "40.00");
        assert_eq!(money(Decimal::new(12345, 3)), "12.345");
        assert_eq!(money(Decimal::new(-5, 1)), "-0.50");
    }
}
