//! The attribution engine's reads across clicks, identities, programs and commission
//! snapshots (API.md §3.4 steps 1–3), returned as the pure engine's facts
//! ([`crate::engine`]).

use std::str::FromStr;

use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;

use crate::db::ConnExt;
use crate::engine::{self, ClickFacts, Model, ProgramFacts, RuleKind, Terms, Trigger};
use crate::rules;
use crate::util::parse_ts;

fn ts_ms(s: &str) -> Option<i64> {
    parse_ts(s).map(|t| t.timestamp_millis())
}

/// True when click `click_id` exists in the tenant.
pub fn click_exists(c: &Connection, tenant_id: &str, click_id: &str) -> rusqlite::Result<bool> {
    c.row(
        "SELECT EXISTS(SELECT 1 FROM clicks WHERE tenant_id = ?1 AND id = ?2)",
        params![tenant_id, click_id],
        |r| r.get(0),
    )
}

/// The clicks stitched to `user_id` (through any of its identities), with whether each is
/// flagged and whether its partner is revoked.
pub fn clicks_of_user(
    c: &Connection,
    tenant_id: &str,
    user_id: &str,
) -> rusqlite::Result<Vec<ClickFacts>> {
    let mut st = c.prepare_cached(
        "SELECT c.id, c.ts, c.partner_id, c.program_id, c.fraud_flag IS NOT NULL,
                COALESCE(p.revoked_at IS NOT NULL, 0)
         FROM identities i JOIN clicks c ON c.id = i.click_id
         LEFT JOIN partners p ON p.id = c.partner_id
         WHERE i.tenant_id = ?1 AND i.user_id = ?2",
    )?;
    let rows = st.query_map(params![tenant_id, user_id], |r| {
        let ts: String = r.get(1)?;
        Ok(ClickFacts {
            id: r.get(0)?,
            ts_ms: ts_ms(&ts).unwrap_or(0),
            partner_id: r.get(2)?,
            program_id: r.get(3)?,
            flagged: r.get(4)?,
            partner_revoked: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// A program's engine facts (window, model, dates, rules, holdback), if it exists.
pub fn program_facts(c: &Connection, program_id: &str) -> rusqlite::Result<Option<ProgramFacts>> {
    c.row(
        "SELECT attribution_window_days, attribution_model, starts_at, ends_at, commission_rule, holdback_days
         FROM programs WHERE id = ?1",
        [program_id],
        |r| {
            let model: String = r.get(1)?;
            let starts: Option<String> = r.get(2)?;
            let ends: Option<String> = r.get(3)?;
            let rule_text: String = r.get(4)?;
            Ok(ProgramFacts {
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

/// A partner's commission snapshot as engine terms (`commissionRules` when present, else
/// the single legacy rule), if the partner has one.
pub fn snapshot_terms(c: &Connection, partner_id: &str) -> rusqlite::Result<Option<Terms>> {
    c.row(
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
