//! Database side of attribution: gathers the facts of one stored event
//! ([`crate::store::attribution`] and friends), runs the pure [`engine::attribute`],
//! writes the attributions and commissions, and returns the response touches plus the
//! webhook events to emit.
//!
//! Used by `POST /attribution/events`, the identify backfill, the fraud-review unflag and
//! the demo seed, so every path writes money the same way. Every function takes the
//! `&Connection` of the caller's one job ([`crate::db::Db::call`], all-or-nothing);
//! nothing here commits.
//!
//! Webhook events are *returned* ([`Emit`]) instead of emitted, so the caller emits them
//! through the outbox inside the same job ([`EventRun::emit`]) or drops them (the seed).

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::engine::{self, Decision, EngineInput, Model};
use crate::error::ApiResult;
use crate::store;
use crate::util::{fmt_ts, new_id, parse_ts};

/// A webhook event produced by attribution: `(type, data)`.
#[derive(Debug, Clone)]
pub struct Emit {
    /// Event type (`attribution.created`, `commission.accrued`).
    pub event_type: &'static str,
    /// The `data` object.
    pub data: Value,
}

/// `data` of the `attribution.created` webhook event.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct AttributionCreated<'a> {
    attribution_id: &'a str,
    event_id: &'a str,
    partner_id: &'a str,
    program_id: &'a str,
    click_id: &'a str,
    model: &'a str,
    #[serde(serialize_with = "crate::wire::money::number")]
    weight: Decimal,
    event_type: &'a str,
    event_value: &'a str,
    commission_id: Option<&'a str>,
    commission_currency: Option<&'a str>,
}

/// `data` of the `commission.accrued` webhook event.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct CommissionAccrued<'a> {
    commission_id: &'a str,
    partner_id: &'a str,
    attribution_id: &'a str,
    click_id: &'a str,
    event_id: &'a str,
    program_id: &'a str,
    /// Exact decimal string.
    amount: String,
    currency: &'a str,
    event_type: &'a str,
    event_value: &'a str,
}

impl Emit {
    fn of(event_type: &'static str, data: impl Serialize) -> rusqlite::Result<Emit> {
        let data = serde_json::to_value(data)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        Ok(Emit { event_type, data })
    }
}

/// `attribution.status` of an event answer (API.md §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributionStatus {
    /// No identity has the user id.
    NoIdentity,
    /// No usable click (none, or all flagged / of revoked partners).
    NoClick,
    /// Usable clicks exist but none inside its program's window.
    OutsideWindow,
    /// Every touch the model picks exists already.
    AlreadyAttributed,
    /// New touches were written.
    Attributed,
}

/// One touch of an `attributed` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Touch {
    /// The click credited.
    pub click_id: String,
    /// Its partner.
    pub partner_id: String,
    /// The stored 4-dp weight, as a JSON number (`0.3333`).
    #[serde(serialize_with = "crate::wire::money::number")]
    #[schema(value_type = f64, example = 0.5)]
    pub weight: Decimal,
    /// The attribution written.
    pub attribution_id: String,
    /// Its first commission, when the touch earned one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commission_id: Option<String>,
}

/// The `attribution` object of an event answer: `{status, model?, touches?}` — `model`
/// when a model was applied (`attributed`, `already_attributed`), `touches` when
/// `attributed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AttributionOutcome {
    /// What the engine decided.
    pub status: AttributionStatus,
    /// The model applied (`last_click`, `first_click`, `linear`, `position`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "last_click")]
    pub model: Option<&'static str>,
    /// The new touches (new attributions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub touches: Option<Vec<Touch>>,
}

/// Result of attributing one event.
#[derive(Debug, Clone)]
pub struct EventRun {
    /// The engine's decision (status, model).
    pub decision: Decision,
    /// Response `touches` (new attributions only).
    pub touches: Vec<Touch>,
    /// Webhook events, in order.
    pub emits: Vec<Emit>,
}

impl EventRun {
    /// The response `attribution` object.
    pub fn outcome(&self) -> AttributionOutcome {
        let (status, model, touches) = match &self.decision {
            Decision::Attributed { model, .. } => (
                AttributionStatus::Attributed,
                Some(model.as_str()),
                Some(self.touches.clone()),
            ),
            Decision::AlreadyAttributed { model } => (
                AttributionStatus::AlreadyAttributed,
                Some(model.as_str()),
                None,
            ),
            Decision::NoIdentity => (AttributionStatus::NoIdentity, None, None),
            Decision::NoClick => (AttributionStatus::NoClick, None, None),
            Decision::OutsideWindow => (AttributionStatus::OutsideWindow, None, None),
        };
        AttributionOutcome {
            status,
            model,
            touches,
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

    /// Records this run's webhook events in the outbox of `tenant_id` (same job).
    pub fn emit(&self, c: &Connection, tenant_id: &str, now_iso: &str) -> ApiResult<()> {
        for e in &self.emits {
            crate::outbox::emit(c, tenant_id, e.event_type, e.data.clone(), now_iso)?;
        }
        Ok(())
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
    let value = engine::stored_event_value(ev.value).to_string();
    let metadata = ev.metadata.as_ref().map(Value::to_string);
    store::events::insert(
        conn,
        &store::events::NewEventRow {
            id: &ev.id,
            tenant_id: &ev.tenant_id,
            user_id: &ev.user_id,
            event_type: &ev.event_type,
            value: &value,
            currency: &ev.currency,
            metadata: metadata.as_deref(),
            ts: &fmt_ts(ev.ts),
            created_at: &fmt_ts(now),
        },
    )
}

/// Gathers the engine input of a stored event.
fn gather(
    conn: &Connection,
    ev: &store::events::EventRow,
    now_ms: i64,
) -> rusqlite::Result<EngineInput> {
    let has_identity = store::identities::user_has_any(conn, &ev.tenant_id, &ev.user_id)?;
    let mut input = EngineInput {
        has_identity,
        now_ms,
        ..EngineInput::default()
    };
    if !has_identity {
        return Ok(input);
    }
    input.clicks = store::attribution::clicks_of_user(conn, &ev.tenant_id, &ev.user_id)?;
    for click in &input.clicks {
        if !input.programs.contains_key(&click.program_id) {
            if let Some(f) = store::attribution::program_facts(conn, &click.program_id)? {
                input.programs.insert(click.program_id.clone(), f);
            }
        }
        if !input.snapshots.contains_key(&click.partner_id) {
            if let Some(t) = store::attribution::snapshot_terms(conn, &click.partner_id)? {
                input.snapshots.insert(click.partner_id.clone(), t);
            }
        }
    }
    let mut earliest = HashMap::new();
    for (partner, ts) in store::attributions::earliest_by_partner(
        conn,
        &ev.tenant_id,
        &ev.user_id,
        &ev.event_type,
        &ev.id,
    )? {
        if let Some(ms) = ts_ms(&ts) {
            earliest.insert(partner, ms);
        }
    }
    input.earliest_attributed_ms = earliest;
    for (model, click) in store::attributions::pairs_of_event(conn, &ev.id)? {
        if let Some(m) = Model::parse(&model) {
            input.existing.insert((m, click));
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
    let Some(ev) = store::events::get(conn, event_id)? else {
        return Ok(None);
    };
    let facts = engine::EventFacts {
        event_type: ev.event_type.clone(),
        value: Decimal::from_str(&ev.value).unwrap_or(Decimal::ZERO),
        currency: ev.currency.clone(),
        ts_ms: ts_ms(&ev.ts).unwrap_or(0),
    };
    let input = gather(conn, &ev, now.timestamp_millis())?;
    let decision = engine::attribute(&facts, &input);
    let mut touches = Vec::new();
    let mut emits = Vec::new();
    if let Decision::Attributed {
        model,
        touches: engine_touches,
    } = &decision
    {
        let now_text = fmt_ts(now);
        for t in engine_touches {
            let attribution_id = new_id();
            let weight = t.weight.stored();
            store::attributions::insert(
                conn,
                &store::attributions::NewAttribution {
                    id: &attribution_id,
                    tenant_id: &ev.tenant_id,
                    event_id,
                    partner_id: &t.partner_id,
                    program_id: &t.program_id,
                    click_id: &t.click_id,
                    model: model.as_str(),
                    weight: &weight.to_string(),
                    created_at: &now_text,
                },
            )?;
            let mut commission_ids: Vec<(String, &str)> = Vec::new();
            let mut accrued = Vec::new();
            for c in &t.commissions {
                let cid = new_id();
                let mature_at = c.mature_at_ms.map(ms_ts);
                let amount = c.amount.to_string();
                store::commissions::insert_accrued(
                    conn,
                    &store::commissions::NewCommission {
                        id: &cid,
                        tenant_id: &ev.tenant_id,
                        attribution_id: &attribution_id,
                        partner_id: &t.partner_id,
                        program_id: &t.program_id,
                        amount: &amount,
                        currency: &c.currency,
                        holdback_days: c.holdback_days,
                        accrued_at: &now_text,
                        mature_at: mature_at.as_deref(),
                    },
                )?;
                accrued.push(Emit::of(
                    "commission.accrued",
                    CommissionAccrued {
                        commission_id: &cid,
                        partner_id: &t.partner_id,
                        attribution_id: &attribution_id,
                        click_id: &t.click_id,
                        event_id,
                        program_id: &t.program_id,
                        amount,
                        currency: &c.currency,
                        event_type: &ev.event_type,
                        event_value: &ev.value,
                    },
                )?);
                commission_ids.push((cid, &c.currency));
            }
            let first = commission_ids.first();
            emits.push(Emit::of(
                "attribution.created",
                AttributionCreated {
                    attribution_id: &attribution_id,
                    event_id,
                    partner_id: &t.partner_id,
                    program_id: &t.program_id,
                    click_id: &t.click_id,
                    model: model.as_str(),
                    weight,
                    event_type: &ev.event_type,
                    event_value: &ev.value,
                    commission_id: first.map(|f| f.0.as_str()),
                    commission_currency: first.map(|f| f.1),
                },
            )?);
            emits.extend(accrued);
            touches.push(Touch {
                click_id: t.click_id.clone(),
                partner_id: t.partner_id.clone(),
                weight,
                attribution_id,
                commission_id: first.map(|f| f.0.clone()),
            });
        }
    }
    Ok(Some(EventRun {
        decision,
        touches,
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
    let ids = store::events::ids_of_user(conn, tenant_id, user_id)?;
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
    let users = store::identities::users_of_click(conn, tenant_id, click_id)?;
    let mut runs = Vec::new();
    for u in &users {
        let events = store::events::unsettled_ids_of_user(conn, tenant_id, u)?;
        for e in &events {
            store::attributions::delete_for_event(conn, e)?;
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
