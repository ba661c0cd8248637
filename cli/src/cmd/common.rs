//! Helpers shared by the attribution-side commands (programs, links, events, clicks,
//! commissions, payouts, export, partner mode): who the credential is, time and money
//! parsing/formatting, the commission listing for admins and partners, confirmation prompts.

use std::io::{IsTerminal, Write};
use std::pin::Pin;

use anyhow::{Context as _, Result};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use futures::stream::Stream;
use openpartner::types::{Commission, CommissionStatus, Introspection, Role};
use openpartner::{Client, CommissionStream};
use rust_decimal::Decimal;

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
/// (`2026-11-20`). A date means the start of that UTC day, or with `exclusive_end` (for an
/// exclusive `until`) the start of the next day, so `--since D --until D` covers the whole
/// day D, its last millisecond included.
pub fn parse_time(s: &str, exclusive_end: bool) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let day = if exclusive_end { d.succ_opt() } else { Some(d) };
        if let Some(day) = day {
            return Ok(day.and_time(NaiveTime::MIN).and_utc());
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
    /// Only commissions accrued strictly before this time (exclusive, like the server; RFC
    /// 3339, or YYYY-MM-DD = that whole day included).
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
    /// Lower bound on `accruedAt` (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Upper bound on `accruedAt` (exclusive).
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

/// A stream of commissions, for an admin (`GET /commissions`) or for a partner
/// (`GET /partners/:id/commissions`, the only commission route a partner may call), both
/// through the SDK's listing with its API.md §6 fallback.
pub struct Listing {
    inner: CommissionStream,
}

impl Listing {
    /// `true` when a server without `commission-filters` returned a full single page: the
    /// results may be incomplete. Meaningful once the stream is drained.
    pub fn possibly_truncated(&self) -> bool {
        self.inner.possibly_truncated()
    }
}

impl Stream for Listing {
    type Item = Result<Commission>;
    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner)
            .poll_next(cx)
            .map(|o| o.map(|r| Ok(r?)))
    }
}

/// Lists the commissions matching `f` through the SDK: an admin or scoped key uses
/// `client.commissions().list()` (`GET /commissions`, `partnerId` as a filter); a partner
/// uses `client.commissions().list_for_partner(me)` (`GET /partners/:id/commissions`). With
/// `commission-filters` every page is fetched with the filters on the wire; without it one
/// page comes back, filtered client-side (`until` exclusive, like the server), and
/// [`Listing::possibly_truncated`] says whether it was full. A partner asking for another
/// partner is refused before any request.
pub async fn list_commissions(client: &Client, who: &Principal, f: &Filter) -> Result<Listing> {
    let mut req = match who {
        Principal::Partner(me) => {
            if let Some(p) = &f.partner {
                if p != me {
                    return Err(exit::fail(
                        Code::Auth,
                        "a partner credential can only list its own commissions",
                    ));
                }
            }
            client.commissions().list_for_partner(me)
        }
        _ => {
            let mut req = client.commissions().list();
            if let Some(p) = &f.partner {
                req = req.partner_id(p);
            }
            req
        }
    };
    req = req.page_size(COMMISSION_PAGE);
    if let Some(s) = &f.status {
        req = req.status(s.clone());
    }
    if let Some(t) = f.since {
        req = req.since(t);
    }
    if let Some(t) = f.until {
        req = req.until(t);
    }
    if let Some(p) = &f.program {
        req = req.program_id(p);
    }
    Ok(Listing {
        inner: req.stream(),
    })
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
            "2026-11-21T00:00:00.000Z",
            "an exclusive end: the whole of 2026-11-20, its last millisecond included"
        );
        let u = parse_time("2026-12-31", true).expect("date");
        assert_eq!(u.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        let t = parse_time("2026-11-20T10:30:00.250Z", true).expect("rfc3339");
        assert_eq!(
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "2026-11-20T10:30:00.250Z",
            "an explicit time is taken as it is"
        );
        assert!(parse_time("yesterday", false).is_err());
        assert_eq!(money(Decimal::new(40, 0)), "40.00");
        assert_eq!(money(Decimal::new(12345, 3)), "12.345");
        assert_eq!(money(Decimal::new(-5, 1)), "-0.50");
    }
}
