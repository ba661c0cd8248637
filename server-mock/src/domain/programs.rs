//! Programs (API.md §3.2): validation of a [`ProgramBody`], creation and update.
//!
//! Choices where API.md is silent:
//! - `name` is at most 200 characters and not blank (stored trimmed); `destinationUrl` must be an absolute http(s)
//!   URL with a host;
//! - `deepLinkAllowedDomains` is a comma-separated string of hosts (≤ 2000 characters) or
//!   null, stored as given (blank = null);
//! - `startsAt`/`endsAt` are ISO timestamps or null; when both are set `endsAt` must be
//!   after `startsAt`;
//! - `grantToAllPartners: true` grants the program to every existing partner of the
//!   tenant (grant source `all`).

use rusqlite::Connection;

use crate::domain::grants;
use crate::engine::Model;
use crate::error::{ApiError, ApiResult, Validation};
use crate::rules;
use crate::store::programs::{self as store, NewProgram, ProgramChanges};
use crate::util::{fmt_ts, new_id, parse_ts};
use crate::wire::programs::{Program, ProgramBody};

/// True for an absolute http(s) URL with a host.
pub fn is_http_url(s: &str) -> bool {
    url::Url::parse(s)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .unwrap_or(false)
}

/// A validated program body; `None` = not given (PATCH), `Some(None)` = set to null.
#[derive(Debug, Clone, Default)]
pub struct ProgramInput {
    name: Option<String>,
    rules: Option<Vec<rules::RuleSpec>>,
    destination_url: Option<String>,
    window_days: Option<i64>,
    model: Option<Model>,
    deep_link: Option<Option<String>>,
    holdback: Option<Option<i64>>,
    starts_at: Option<Option<String>>,
    ends_at: Option<Option<String>>,
    grant_all: bool,
}

fn opt_ts(v: &mut Validation, key: &str, given: Option<Option<String>>) -> Option<Option<String>> {
    match given? {
        None => Some(None),
        Some(s) => match parse_ts(&s) {
            Some(t) => Some(Some(fmt_ts(t))),
            None => {
                v.push(key, "Invalid datetime");
                None
            }
        },
    }
}

/// Validates `body` (`create`: the `POST` rules, with the required fields) and collects
/// every field error into one 400 `invalid_body`.
pub fn validate(body: ProgramBody, create: bool) -> ApiResult<ProgramInput> {
    let mut v = Validation::new();
    let mut p = ProgramInput::default();
    match body.name {
        Some(s) if s.chars().count() <= 200 && !s.trim().is_empty() => {
            p.name = Some(s.trim().to_owned());
        }
        None if !create => {}
        None => v.push("name", "Required"),
        Some(_) => v.push("name", "Expected a string of 1-200 characters"),
    }
    match body.commission_rule {
        Some(r) => match rules::parse_rules(&r) {
            Ok(x) => p.rules = Some(x),
            Err(errs) => errs.iter().for_each(|e| v.push("commissionRule", e)),
        },
        None if !create => {}
        None => v.push("commissionRule", "Required"),
    }
    match body.destination_url {
        Some(s) if is_http_url(&s) => p.destination_url = Some(s),
        None if !create => {}
        None => v.push("destinationUrl", "Required"),
        Some(_) => v.push("destinationUrl", "Expected an absolute http(s) URL"),
    }
    match body.attribution_window_days {
        None => {}
        Some(n) if (1..=365).contains(&n) => p.window_days = Some(n),
        Some(_) => v.push(
            "attributionWindowDays",
            "Expected an integer between 1 and 365",
        ),
    }
    match body.attribution_model {
        None => {}
        Some(s) => match Model::parse(&s) {
            Some(m) => p.model = Some(m),
            None => v.push(
                "attributionModel",
                "Expected 'last_click' | 'first_click' | 'linear' | 'position'",
            ),
        },
    }
    match body.deep_link_allowed_domains {
        None => {}
        Some(None) => p.deep_link = Some(None),
        Some(Some(s)) if s.chars().count() <= 2000 => {
            p.deep_link = Some((!s.trim().is_empty()).then_some(s));
        }
        Some(Some(_)) => v.push(
            "deepLinkAllowedDomains",
            "Expected a comma-separated string of hosts or null",
        ),
    }
    match body.holdback_days {
        Some(Some(n)) if !(0..=365).contains(&n) => {
            v.push("holdbackDays", "Expected an integer between 0 and 365");
        }
        h => p.holdback = h,
    }
    p.starts_at = opt_ts(&mut v, "startsAt", body.starts_at);
    p.ends_at = opt_ts(&mut v, "endsAt", body.ends_at);
    p.grant_all = body.grant_to_all_partners.unwrap_or(false);
    v.finish_body()?;
    Ok(p)
}

fn check_dates(starts: Option<&str>, ends: Option<&str>) -> ApiResult<()> {
    if let (Some(s), Some(e)) = (starts, ends) {
        if e <= s {
            return Err(ApiError::body_field("endsAt", "Must be after startsAt"));
        }
    }
    Ok(())
}

/// Creates a program from a validated `POST` body at `now` (and grants it to every
/// partner when asked) → the program row. Errors: 400 `invalid_body` (`endsAt` not
/// after `startsAt`), 500.
pub fn create(c: &Connection, tenant_id: &str, p: ProgramInput, now: &str) -> ApiResult<Program> {
    let starts = p.starts_at.clone().flatten();
    let ends = p.ends_at.clone().flatten();
    check_dates(starts.as_deref(), ends.as_deref())?;
    let id = new_id();
    let name = p.name.unwrap_or_default();
    let destination = p.destination_url.unwrap_or_default();
    let rule = rules::rules_stored(&p.rules.unwrap_or_default());
    let deep_link = p.deep_link.flatten();
    store::insert(
        c,
        tenant_id,
        &NewProgram {
            id: &id,
            name: &name,
            commission_rule: &rule,
            attribution_window_days: p.window_days.unwrap_or(60),
            attribution_model: p.model.unwrap_or(Model::LastClick).as_str(),
            destination_url: &destination,
            deep_link_allowed_domains: deep_link.as_deref(),
            holdback_days: p.holdback.flatten(),
            starts_at: starts.as_deref(),
            ends_at: ends.as_deref(),
        },
        now,
    )?;
    if p.grant_all {
        grants::grant_to_all_partners(c, tenant_id, &id, now)?;
    }
    store::get(c, tenant_id, &id)?.ok_or_else(ApiError::internal)
}

/// Applies a validated `PATCH` body to program `id` at `now` → the updated row. Errors:
/// 404 `not_found`, 400 `invalid_body` (`endsAt` not after `startsAt`).
pub fn update(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    p: ProgramInput,
    now: &str,
) -> ApiResult<Program> {
    let cur = store::get(c, tenant_id, id)?.ok_or_else(ApiError::not_found)?;
    let starts = p.starts_at.clone().unwrap_or(cur.starts_at);
    let ends = p.ends_at.clone().unwrap_or(cur.ends_at);
    check_dates(starts.as_deref(), ends.as_deref())?;
    let changes = ProgramChanges {
        name: p.name,
        commission_rule: p.rules.as_deref().map(rules::rules_stored),
        destination_url: p.destination_url,
        attribution_window_days: p.window_days,
        attribution_model: p.model.map(Model::as_str),
        deep_link_allowed_domains: p.deep_link,
        holdback_days: p.holdback,
        starts_at: p.starts_at.map(|_| starts),
        ends_at: p.ends_at.map(|_| ends),
    };
    store::update(c, tenant_id, id, changes, now)?;
    if p.grant_all {
        grants::grant_to_all_partners(c, tenant_id, id, now)?;
    }
    store::get(c, tenant_id, id)?.ok_or_else(ApiError::not_found)
}
