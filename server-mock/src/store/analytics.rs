//! Partner analytics reads (API.md §3.1): the rows behind the dashboard, the timeseries,
//! the attributed-events list and the customers list. Values, weights and amounts are
//! returned as the stored decimal strings; every sum is done by the caller with
//! `rust_decimal` (never in SQL, which would use floats). Times are ISO strings; `since`
//! is inclusive, `until` exclusive.

use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection};

use crate::db::ConnExt;

/// Clicks on the partner's links at or after `since` (flagged ones included).
pub fn click_count_since(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    since: &str,
) -> rusqlite::Result<i64> {
    c.row(
        "SELECT COUNT(*) FROM clicks WHERE tenant_id = ?1 AND partner_id = ?2 AND ts >= ?3",
        params![tenant_id, partner_id, since],
        |r| r.get(0),
    )
}

/// `(event id, event value, stored weight)` of the partner's attributions of events at or
/// after `since`.
pub fn attributed_values_since(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    since: &str,
) -> rusqlite::Result<Vec<(String, String, String)>> {
    let mut st = c.prepare_cached(
        "SELECT a.event_id, e.value, a.weight FROM attributions a JOIN events e ON e.id = a.event_id
         WHERE a.tenant_id = ?1 AND a.partner_id = ?2 AND e.ts >= ?3",
    )?;
    let rows = st.query_map(params![tenant_id, partner_id, since], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    rows.collect()
}

/// `(status, amount)` of the partner's commissions accrued at or after `since`.
pub fn commission_amounts_since(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    since: &str,
) -> rusqlite::Result<Vec<(String, String)>> {
    let mut st = c.prepare_cached(
        "SELECT status, amount FROM commissions WHERE tenant_id = ?1 AND partner_id = ?2 AND accrued_at >= ?3",
    )?;
    let rows = st.query_map(params![tenant_id, partner_id, since], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    rows.collect()
}

/// ISO times of the partner's clicks in `[since, until)`, of `program_id` when given.
pub fn click_times(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    since: &str,
    until: &str,
    program_id: Option<&str>,
) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare_cached(
        "SELECT ts FROM clicks WHERE tenant_id = ?1 AND partner_id = ?2 AND ts >= ?3 AND ts < ?4
           AND (?5 IS NULL OR program_id = ?5)",
    )?;
    let rows = st.query_map(
        params![tenant_id, partner_id, since, until, program_id],
        |r| r.get(0),
    )?;
    rows.collect()
}

/// One attribution of the timeseries: its event, the event's time and value, the stored
/// weight, and the amounts of its non-reversed commissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeseriesRow {
    /// Event id.
    pub event_id: String,
    /// ISO event time.
    pub ts: String,
    /// Event value (decimal string).
    pub value: String,
    /// Stored 4-dp weight.
    pub weight: String,
    /// Non-reversed commission amounts (decimal strings).
    pub amounts: Vec<String>,
}

/// The partner's attributions of events in `[since, until)`, of `program_id` when given.
pub fn timeseries_rows(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    since: &str,
    until: &str,
    program_id: Option<&str>,
) -> rusqlite::Result<Vec<TimeseriesRow>> {
    let mut st = c.prepare_cached(
        "SELECT a.event_id, e.ts, e.value, a.weight,
                (SELECT group_concat(c.amount, ' ') FROM commissions c
                  WHERE c.attribution_id = a.id AND c.status <> 'reversed')
         FROM attributions a JOIN events e ON e.id = a.event_id
         WHERE a.tenant_id = ?1 AND a.partner_id = ?2 AND e.ts >= ?3 AND e.ts < ?4
           AND (?5 IS NULL OR a.program_id = ?5)",
    )?;
    let rows = st.query_map(
        params![tenant_id, partner_id, since, until, program_id],
        |r| {
            let amounts: Option<String> = r.get(4)?;
            Ok(TimeseriesRow {
                event_id: r.get(0)?,
                ts: r.get(1)?,
                value: r.get(2)?,
                weight: r.get(3)?,
                amounts: amounts
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            })
        },
    )?;
    rows.collect()
}

/// Filters of the attributed-events list; `None` = no filter.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only attributions of this program.
    pub program_id: Option<String>,
    /// Only events of this type.
    pub event_type: Option<String>,
    /// ISO, inclusive lower bound of the event time.
    pub since: Option<String>,
    /// ISO, exclusive upper bound of the event time.
    pub until: Option<String>,
}

/// The click behind an attributed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventClick {
    /// Click id.
    pub id: String,
    /// Link key.
    pub link_key: Option<String>,
    /// Referer.
    pub referer: Option<String>,
    /// Landing URL.
    pub landing_url: Option<String>,
    /// ISO click time.
    pub ts: Option<String>,
}

/// One attribution of the partner with its event and click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributedEventRow {
    /// Attribution id.
    pub attribution_id: String,
    /// Stored 4-dp weight.
    pub weight: String,
    /// Model.
    pub model: String,
    /// Event id.
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// Event value (decimal string).
    pub value: String,
    /// Currency.
    pub currency: String,
    /// ISO event time.
    pub ts: String,
    /// The event's user.
    pub user_id: String,
    /// The click, when it still exists.
    pub click: Option<EventClick>,
}

/// A page of the partner's attributions, newest event first (event ts desc, attribution
/// id desc).
pub fn attributed_events(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    f: &EventFilter,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<Vec<AttributedEventRow>> {
    let mut wh = vec!["a.tenant_id = ?", "a.partner_id = ?"];
    let mut args: Vec<Sql> = vec![Sql::Text(tenant_id.into()), Sql::Text(partner_id.into())];
    for (cond, v) in [
        ("a.program_id = ?", &f.program_id),
        ("e.type = ?", &f.event_type),
        ("e.ts >= ?", &f.since),
        ("e.ts < ?", &f.until),
    ] {
        if let Some(v) = v {
            wh.push(cond);
            args.push(Sql::Text(v.clone()));
        }
    }
    args.push(Sql::Integer(limit));
    args.push(Sql::Integer(offset));
    let sql = format!(
        "SELECT a.id, a.weight, a.model, e.id, e.type, e.value, e.currency, e.ts, e.user_id,
                c.id, c.link_key, c.referer, c.landing_url, c.ts
         FROM attributions a JOIN events e ON e.id = a.event_id LEFT JOIN clicks c ON c.id = a.click_id
         WHERE {} ORDER BY e.ts DESC, a.id DESC LIMIT ? OFFSET ?",
        wh.join(" AND ")
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params_from_iter(args), |r| {
        let click_id: Option<String> = r.get(9)?;
        let click = match click_id {
            Some(id) => Some(EventClick {
                id,
                link_key: r.get(10)?,
                referer: r.get(11)?,
                landing_url: r.get(12)?,
                ts: r.get(13)?,
            }),
            None => None,
        };
        Ok(AttributedEventRow {
            attribution_id: r.get(0)?,
            weight: r.get(1)?,
            model: r.get(2)?,
            event_id: r.get(3)?,
            event_type: r.get(4)?,
            value: r.get(5)?,
            currency: r.get(6)?,
            ts: r.get(7)?,
            user_id: r.get(8)?,
            click,
        })
    })?;
    rows.collect()
}

/// One customer (user) of the partner: first and last attributed event time and the
/// number of distinct attributed events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRow {
    /// The user id.
    pub user_id: String,
    /// ISO time of the first attributed event.
    pub first_event_at: String,
    /// ISO time of the last attributed event.
    pub last_event_at: String,
    /// Distinct attributed events.
    pub event_count: i64,
}

/// A page of the partner's customers, most recent first (last event desc, user id), of
/// `program_id` when given.
pub fn customers(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    program_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<Vec<CustomerRow>> {
    let mut st = c.prepare_cached(
        "SELECT e.user_id, MIN(e.ts), MAX(e.ts), COUNT(DISTINCT e.id)
         FROM attributions a JOIN events e ON e.id = a.event_id
         WHERE a.tenant_id = ?1 AND a.partner_id = ?2 AND (?3 IS NULL OR a.program_id = ?3)
         GROUP BY e.user_id ORDER BY MAX(e.ts) DESC, e.user_id LIMIT ?4 OFFSET ?5",
    )?;
    let rows = st.query_map(
        params![tenant_id, partner_id, program_id, limit, offset],
        |r| {
            Ok(CustomerRow {
                user_id: r.get(0)?,
                first_event_at: r.get(1)?,
                last_event_at: r.get(2)?,
                event_count: r.get(3)?,
            })
        },
    )?;
    rows.collect()
}

/// `(event value, stored weight)` of the partner's attributions of `user_id`'s events, of
/// `program_id` when given.
pub fn customer_values(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    user_id: &str,
    program_id: Option<&str>,
) -> rusqlite::Result<Vec<(String, String)>> {
    let mut st = c.prepare_cached(
        "SELECT e.value, a.weight FROM attributions a JOIN events e ON e.id = a.event_id
         WHERE a.tenant_id = ?1 AND a.partner_id = ?2 AND e.user_id = ?3 AND (?4 IS NULL OR a.program_id = ?4)",
    )?;
    let rows = st.query_map(params![tenant_id, partner_id, user_id, program_id], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    rows.collect()
}
