//! Database side of attribution: gathers the facts of one stored event, runs the pure
//! [`engine::attribute`], writes the attributions and commissions, and returns the
//! response touches plus the webhook events to emit.
//!
//! Used by `POST /attribution/events`, the identify backfill, the fraud-review unflag and
//! the demo seed, so every path writes money the same way. All functions take a
//! `&Connection` that the caller has inside a transaction; nothing here commits.
//!
//! Webhook events are *returned* ([`Emit`]) instead of emitted, so the caller emits them
//! through the core's outbox hook inside the same transaction (or drops them, for the
//! seed).

use crate::db::ConnExt;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::engine::{self, Decision, EngineInput, Model, RuleKind, Terms, Trigger};
use crate::rules::{self, dec_number};
use crate::util::{fmt_ts, new_id, parse_ts};

/// A webhook event produced by attribution: `(type, data)`.
#[derive(Debug, Clone)]
pub struct Emit {
    /// Event type (`attribution.created`, `commission.accrued`).
    pub event_type: &'static str,
    /// The `data` object.
    pub data: Value,
}

/// Result of attributing one event.
#[derive(Debug, Clone)]
pub struct EventRun {
    /// The engine's decision (status, model).
    pub decision: Decision,
    /// Response `touches` (new attributions only).
    pub touches: Vec<Value>,
    /// Webhook events, in order.
    pub emits: Vec<Emit>,
}

impl EventRun {
    /// The response `attribution` object: `{status, model?, touches?}`.
    pub fn attribution_json(&self) -> Value {
        match &self.decision {
            Decision::Attributed { model, .. } => json!({
                "status": "attributed",
                "model": model.as_str(),
                "touches": self.touches,
            }),
            Decision::AlreadyAttributed { model } => {
                json!({"status": "already_attributed", "model": model.as_str()})
            }
            other => json!({"status": other.status()}),
        }
    }

    /// Number of new attributions written.
    pub fn new_attributions(&self) -> usize {
        self.touches.len()
    }

    /// True when the run ended `attributed` (it wrote at least one new touch). An identify
    /// backfill counts these runs, one per event however many touches each wrote
    /// (`backfilledAttributions`, API.md §3.3).
    pub fn is_attributed(&self) -> bool {
        matches!(self.decision, Decision::Attributed { .. })
    }
}

/// Milliseconds since the epoch of a stored ISO timestamp (`None` if unreadable).
pub fn ts_ms(s: &str) -> Option<i64> {
    parse_ts(s).map(|t| t.timestamp_millis())
}

/// The stored ISO form of epoch milliseconds.
pub fn ms_ts(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(fmt_ts)
        .unwrap_or_default()
}

/// An event to store.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The new event id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// `userId`.
    pub user_id: String,
    /// `type`.
    pub event_type: String,
    /// The value as given (rounded here, step 0).
    pub value: Option<Decimal>,
    /// Upper-cased currency.
    pub currency: String,
    /// Optional metadata object.
    pub metadata: Option<Value>,
    /// Event time.
    pub ts: DateTime<Utc>,
}

/// Stores an event (value rounded half-up to 2 dp).
pub fn insert_event(conn: &Connection, ev: &NewEvent, now: DateTime<Utc>) -> rusqlite::Result<()> {
    let value = engine::stored_event_value(ev.value);
    conn.exec(
        "INSERT INTO events (id, tenant_id, user_id, type, value, currency, metadata, ts, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            ev.id,
            ev.tenant_id,
            ev.user_id,
            ev.event_type,
            value.to_string(),
            ev.currency,
            ev.metadata.as_ref().map(Value::to_string),
            fmt_ts(ev.ts),
            fmt_ts(now)
        ],
    )?;
    Ok(())
}

/// Loads a program's engine facts.
pub fn program_facts(
    conn: &Connection,
    program_id: &str,
) -> rusqlite::Result<Option<engine::ProgramFacts>> {
    conn.row(
        "SELECT attribution_window_days, attribution_model, starts_at, ends_at, commission_rule, holdback_days
         FROM programs WHERE id = ?1",
        [program_id],
        |r| {
            let model: String = r.get(1)?;
            let starts: Option<String> = r.get(2)?;
            let ends: Option<String> = r.get(3)?;
            let rule_text: String = r.get(4)?;
            Ok(engine::ProgramFacts {
                window_days: r.get(0)?,
                model: Model::parse(&model).unwrap_or(Model::LastClick),
                starts_at_ms: starts.as_deref().and_then(ts_ms),
                ends_at_ms: ends.as_deref().and_then(ts_ms),
                terms: Terms {
                    rules: rules::engine_rules(&rules::rules_from_stored(&rule_text)),
                    holdback_days: r.get(5)?,
                },
            })
        },
    )
    .optional()
}

/// Loads a partner's commission snapshot as engine terms (`commissionRules` when present,
/// else the single legacy rule).
pub fn snapshot_terms(conn: &Connection, partner_id: &str) -> rusqlite::Result<Option<Terms>> {
    conn.row(
        "SELECT commission_type, commission_value, recurring, commission_rules, holdback_days
         FROM commission_snapshots WHERE partner_id = ?1",
        [partner_id],
        |r| {
            let kind: String = r.get(0)?;
            let value: String = r.get(1)?;
            let recurring: bool = r.get(2)?;
            let rules_text: Option<String> = r.get(3)?;
            let holdback: Option<i64> = r.get(4)?;
            let rules = match rules_text {
                Some(t) => rules::engine_rules(&rules::rules_from_stored(&t)),
                None => vec![engine::SubRule {
                    trigger: Trigger::Every,
                    event_type: None,
                    kind: if kind == "fixed" {
                        RuleKind::Fixed
                    } else {
                        RuleKind::Percent
                    },
                    value: Decimal::from_str(&value).unwrap_or(Decimal::ZERO),
                    recurring,
                    recurring_months: None,
                }],
            };
            Ok(Terms {
                rules,
                holdback_days: holdback,
            })
        },
    )
    .optional()
}

struct StoredEvent {
    tenant_id: String,
    user_id: String,
    facts: engine::EventFacts,
    value_text: String,
}

fn load_event(conn: &Connection, event_id: &str) -> rusqlite::Result<Option<StoredEvent>> {
    conn.row(
        "SELECT tenant_id, user_id, type, value, currency, ts FROM events WHERE id = ?1",
        [event_id],
        |r| {
            let value_text: String = r.get(3)?;
            let ts: String = r.get(5)?;
            Ok(StoredEvent {
                tenant_id: r.get(0)?,
                user_id: r.get(1)?,
                facts: engine::EventFacts {
                    event_type: r.get(2)?,
                    value: Decimal::from_str(&value_text).unwrap_or(Decimal::ZERO),
                    currency: r.get(4)?,
                    ts_ms: ts_ms(&ts).unwrap_or(0),
                },
                value_text,
            })
        },
    )
    .optional()
}

/// Gathers the engine input of a stored event.
fn gather(
    conn: &Connection,
    event_id: &str,
    ev: &StoredEvent,
    now_ms: i64,
) -> rusqlite::Result<EngineInput> {
    let has_identity: bool = conn.row(
        "SELECT EXISTS(SELECT 1 FROM identities WHERE tenant_id = ?1 AND user_id = ?2)",
        params![ev.tenant_id, ev.user_id],
        |r| r.get(0),
    )?;
    let mut input = EngineInput {
        has_identity,
        now_ms,
        ..EngineInput::default()
    };
    if !has_identity {
        return Ok(input);
    }
    let mut st = conn.prepare_cached(
        "SELECT c.id, c.ts, c.partner_id, c.program_id, c.fraud_flag IS NOT NULL,
                COALESCE(p.revoked_at IS NOT NULL, 0)
         FROM identities i JOIN clicks c ON c.id = i.click_id
         LEFT JOIN partners p ON p.id = c.partner_id
         WHERE i.tenant_id = ?1 AND i.user_id = ?2",
    )?;
    let rows = st.query_map(params![ev.tenant_id, ev.user_id], |r| {
        let ts: String = r.get(1)?;
        Ok(engine::ClickFacts {
            id: r.get(0)?,
            ts_ms: ts_ms(&ts).unwrap_or(0),
            partner_id: r.get(2)?,
            program_id: r.get(3)?,
            flagged: r.get(4)?,
            partner_revoked: r.get(5)?,
        })
    })?;
    for c in rows {
        input.clicks.push(c?);
    }
    let partners: HashSet<String> = input.clicks.iter().map(|c| c.partner_id.clone()).collect();
    let programs: HashSet<String> = input.clicks.iter().map(|c| c.program_id.clone()).collect();
    for p in programs {
        if let Some(f) = program_facts(conn, &p)? {
            input.programs.insert(p, f);
        }
    }
    for p in &partners {
        if let Some(t) = snapshot_terms(conn, p)? {
            input.snapshots.insert(p.clone(), t);
        }
    }
    let mut st = conn.prepare_cached(
        "SELECT a.partner_id, MIN(e.ts) FROM attributions a JOIN events e ON e.id = a.event_id
         WHERE e.tenant_id = ?1 AND e.user_id = ?2 AND e.type = ?3 AND e.id <> ?4
         GROUP BY a.partner_id",
    )?;
    let rows = st.query_map(
        params![ev.tenant_id, ev.user_id, ev.facts.event_type, event_id],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    let mut earliest = HashMap::new();
    for row in rows {
        let (p, ts) = row?;
        if let Some(ms) = ts_ms(&ts) {
            earliest.insert(p, ms);
        }
    }
    input.earliest_attributed_ms = earliest;
    let mut st =
        conn.prepare_cached("SELECT model, click_id FROM attributions WHERE event_id = ?1")?;
    let rows = st.query_map([event_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (m, c) = row?;
        if let Some(m) = Model::parse(&m) {
            input.existing.insert((m, c));
        }
    }
    Ok(input)
}

/// Runs §3.4 steps 1–7 for the stored event `event_id` and writes the result.
/// `now` is the accrual time. Returns `None` when the event does not exist.
pub fn attribute_stored_event(
    conn: &Connection,
    event_id: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<EventRun>> {
    let Some(ev) = load_event(conn, event_id)? else {
        return Ok(None);
    };
    let now_ms = now.timestamp_millis();
    let input = gather(conn, event_id, &ev, now_ms)?;
    let decision = engine::attribute(&ev.facts, &input);
    let mut touches_json = Vec::new();
    let mut emits = Vec::new();
    if let Decision::Attributed { model, touches } = &decision {
        let now_text = fmt_ts(now);
        for t in touches {
            let attribution_id = new_id();
            let weight = t.weight.stored();
            conn.exec(
                "INSERT INTO attributions (id, tenant_id, event_id, partner_id, program_id, click_id, model, weight, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    attribution_id,
                    ev.tenant_id,
                    event_id,
                    t.partner_id,
                    t.program_id,
                    t.click_id,
                    model.as_str(),
                    weight.to_string(),
                    now_text
                ],
            )?;
            let mut commission_ids = Vec::new();
            let mut accrued = Vec::new();
            for c in &t.commissions {
                let cid = new_id();
                conn.exec(
                    "INSERT INTO commissions (id, tenant_id, attribution_id, partner_id, program_id, amount, currency, status, holdback_days, accrued_at, mature_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'accrued', ?8, ?9, ?10)",
                    params![
                        cid,
                        ev.tenant_id,
                        attribution_id,
                        t.partner_id,
                        t.program_id,
                        c.amount.to_string(),
                        c.currency,
                        c.holdback_days,
                        now_text,
                        c.mature_at_ms.map(ms_ts)
                    ],
                )?;
                accrued.push(Emit {
                    event_type: "commission.accrued",
                    data: json!({
                        "commissionId": cid,
                        "partnerId": t.partner_id,
                        "attributionId": attribution_id,
                        "clickId": t.click_id,
                        "eventId": event_id,
                        "programId": t.program_id,
                        "amount": c.amount.to_string(),
                        "currency": c.currency,
                        "eventType": ev.facts.event_type,
                        "eventValue": ev.value_text,
                    }),
                });
                commission_ids.push((cid, c.currency.clone()));
            }
            let first = commission_ids.first();
            emits.push(Emit {
                event_type: "attribution.created",
                data: json!({
                    "attributionId": attribution_id,
                    "eventId": event_id,
                    "partnerId": t.partner_id,
                    "programId": t.program_id,
                    "clickId": t.click_id,
                    "model": model.as_str(),
                    "weight": dec_number(weight),
                    "eventType": ev.facts.event_type,
                    "eventValue": ev.value_text,
                    "commissionId": first.map(|f| f.0.clone()),
                    "commissionCurrency": first.map(|f| f.1.clone()),
                }),
            });
            emits.extend(accrued);
            let mut touch = json!({
                "clickId": t.click_id,
                "partnerId": t.partner_id,
                "weight": dec_number(weight),
                "attributionId": attribution_id,
            });
            if let (Some((cid, _)), Some(o)) = (first, touch.as_object_mut()) {
                o.insert("commissionId".into(), json!(cid));
            }
            touches_json.push(touch);
        }
    }
    Ok(Some(EventRun {
        decision,
        touches: touches_json,
        emits,
    }))
}

/// Re-runs attribution for every event of `user_id`, oldest first (ts, id). Returns the
/// runs (for counting) in order.
pub fn rerun_user_events(
    conn: &Connection,
    tenant_id: &str,
    user_id: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Vec<EventRun>> {
    let ids: Vec<String> = {
        let mut st = conn.prepare_cached(
            "SELECT id FROM events WHERE tenant_id = ?1 AND user_id = ?2 ORDER BY ts, id",
        )?;
        let rows = st.query_map(params![tenant_id, user_id], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(run) = attribute_stored_event(conn, &id, now)? {
            out.push(run);
        }
    }
    Ok(out)
}

/// Unflag support: re-attributes the events of every user stitched to `click_id`.
///
/// An event whose commissions are all still `accrued` (or that has none) is reset — its
/// accrued commissions and its attributions are deleted — and attributed again, oldest
/// first. An event that has an approved, paid or reversed commission is *settled*: it is
/// left exactly as it is, so money already decided on is never paid twice nor silently
/// re-split. Returns `(re-attributed events, runs)`, where an event counts when its re-run
/// wrote at least one attribution.
pub fn reattribute_click_users(
    conn: &Connection,
    tenant_id: &str,
    click_id: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<(usize, Vec<EventRun>)> {
    let users: Vec<String> = {
        let mut st = conn.prepare_cached(
            "SELECT DISTINCT user_id FROM identities WHERE tenant_id = ?1 AND click_id = ?2 ORDER BY user_id",
        )?;
        let rows = st.query_map(params![tenant_id, click_id], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut runs = Vec::new();
    for u in &users {
        let events: Vec<String> = {
            let mut st = conn.prepare_cached(
                "SELECT e.id FROM events e WHERE e.tenant_id = ?1 AND e.user_id = ?2
                   AND NOT EXISTS (SELECT 1 FROM attributions a JOIN commissions c ON c.attribution_id = a.id
                                   WHERE a.event_id = e.id AND c.status <> 'accrued')
                 ORDER BY e.ts, e.id",
            )?;
            let rows = st.query_map(params![tenant_id, u], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for e in &events {
            conn.exec(
                "DELETE FROM commissions WHERE attribution_id IN (SELECT id FROM attributions WHERE event_id = ?1)",
                [e],
            )?;
            conn.exec("DELETE FROM attributions WHERE event_id = ?1", [e])?;
        }
        for e in &events {
            if let Some(run) = attribute_stored_event(conn, e, now)? {
                runs.push(run);
            }
        }
    }
    let count = runs.iter().filter(|r| r.new_attributions() > 0).count();
    Ok((count, runs))
}
