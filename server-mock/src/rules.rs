//! Commission sub-rules (API.md §3.2): parsing and validation of the wire form, the
//! legacy single-object form, and conversion to the engine's [`engine::SubRule`].
//!
//! Stored form: the normalised wire JSON array (`[{trigger,eventType?,type,value,currency?,
//! recurring,recurringMonths?}]`) in a TEXT column; `value` is written as a JSON number
//! holding the exact decimal (the crate uses serde_json's `arbitrary_precision`), so it is
//! read back without ever passing through `f64`.
//!
//! Choices where API.md is silent (documented here on purpose):
//! - an array item without `trigger` is treated as `"every"` (as the legacy form is);
//! - `value` is accepted as a JSON number or a numeric string;
//! - a `currency` on a percent rule is rejected (`currency` is "fixed only");
//! - fixed-rule currencies are stored upper-cased but never used for payment (the event
//!   currency is, §3.4 step 6).

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use crate::engine::{self, RuleKind, Trigger};
use crate::wire::programs::{CommissionType, RuleTrigger, SubRule};

/// A validated sub-rule with everything the wire form carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// The engine's view.
    pub rule: engine::SubRule,
    /// A fixed rule's own currency (kept and echoed, not used for payment).
    pub currency: Option<String>,
}

/// A decimal as a JSON number, exact (serde_json `arbitrary_precision`), trailing zeros
/// removed (`40.00` → `40`).
pub fn dec_number(d: Decimal) -> Value {
    let s = d.normalize().to_string();
    match serde_json::Number::from_str(&s) {
        Ok(n) => Value::Number(n),
        Err(_) => Value::String(s),
    }
}

/// Reads a decimal from a JSON number or numeric string (never through `f64`).
pub fn decimal_of(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => {
            let s = n.to_string();
            Decimal::from_str(&s)
                .or_else(|_| Decimal::from_scientific(&s))
                .ok()
        }
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

fn is_currency(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphabetic())
}

fn parse_one(v: &Value, at: &str, errs: &mut Vec<String>) -> Option<RuleSpec> {
    let Some(o) = v.as_object() else {
        errs.push(format!("{at}: expected an object"));
        return None;
    };
    let n_before = errs.len();
    let trigger = match o.get("trigger") {
        None | Some(Value::Null) => Trigger::Every,
        Some(Value::String(s)) if s == "every" => Trigger::Every,
        Some(Value::String(s)) if s == "first" => Trigger::First,
        Some(Value::String(s)) if s == "subsequent" => Trigger::Subsequent,
        Some(_) => {
            errs.push(format!(
                "{at}.trigger: expected 'every' | 'first' | 'subsequent'"
            ));
            Trigger::Every
        }
    };
    let event_type = match o.get("eventType") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if (1..=80).contains(&s.chars().count()) => Some(s.clone()),
        Some(_) => {
            errs.push(format!(
                "{at}.eventType: expected a string of 1-80 characters"
            ));
            None
        }
    };
    if trigger != Trigger::Every && event_type.is_none() && errs.len() == n_before {
        errs.push(format!(
            "{at}.eventType: required when trigger is first or subsequent"
        ));
    }
    let kind = match o.get("type").and_then(Value::as_str) {
        Some("percent") => Some(RuleKind::Percent),
        Some("fixed") => Some(RuleKind::Fixed),
        _ => {
            errs.push(format!("{at}.type: expected 'percent' | 'fixed'"));
            None
        }
    };
    let value = match o.get("value").and_then(decimal_of) {
        Some(d) if d > Decimal::ZERO => Some(d),
        _ => {
            errs.push(format!("{at}.value: expected a number greater than 0"));
            None
        }
    };
    let currency = match o.get("currency") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if is_currency(s) => {
            if kind == Some(RuleKind::Percent) {
                errs.push(format!("{at}.currency: only allowed on fixed rules"));
            }
            Some(s.to_ascii_uppercase())
        }
        Some(_) => {
            errs.push(format!("{at}.currency: expected 3 letters"));
            None
        }
    };
    let recurring = match o.get("recurring") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errs.push(format!("{at}.recurring: expected a boolean"));
            false
        }
    };
    let recurring_months = match o.get("recurringMonths") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(m @ 1..=600) => {
                if !recurring {
                    errs.push(format!("{at}.recurringMonths: requires recurring: true"));
                }
                u32::try_from(m).ok()
            }
            _ => {
                errs.push(format!("{at}.recurringMonths: expected an integer 1-600"));
                None
            }
        },
    };
    if errs.len() != n_before {
        return None;
    }
    Some(RuleSpec {
        rule: engine::SubRule {
            trigger,
            event_type,
            kind: kind?,
            value: value?,
            recurring,
            recurring_months,
        },
        currency,
    })
}

/// Parses `commissionRule` / `commissionRules`: an array of 1–10 sub-rules, or the legacy
/// single object (normalised to one `every` rule). Errors are human messages for the
/// field's `fieldErrors` entry.
pub fn parse_rules(v: &Value) -> Result<Vec<RuleSpec>, Vec<String>> {
    let mut errs = Vec::new();
    let out: Vec<RuleSpec> = match v {
        Value::Array(items) => {
            if items.is_empty() || items.len() > 10 {
                return Err(vec!["expected 1-10 rules".to_string()]);
            }
            items
                .iter()
                .enumerate()
                .filter_map(|(i, it)| parse_one(it, &i.to_string(), &mut errs))
                .collect()
        }
        Value::Object(_) => parse_one(v, "rule", &mut errs).into_iter().collect(),
        _ => {
            return Err(vec![
                "expected a rule object or an array of 1-10 rules".into()
            ])
        }
    };
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs)
    }
}

/// The normalised wire shape of one rule (`value` with trailing zeros removed).
pub fn to_wire(r: &RuleSpec) -> SubRule {
    SubRule {
        trigger: match r.rule.trigger {
            Trigger::Every => RuleTrigger::Every,
            Trigger::First => RuleTrigger::First,
            Trigger::Subsequent => RuleTrigger::Subsequent,
        },
        event_type: r.rule.event_type.clone(),
        kind: match r.rule.kind {
            RuleKind::Percent => CommissionType::Percent,
            RuleKind::Fixed => CommissionType::Fixed,
        },
        value: r.rule.value.normalize(),
        currency: r.currency.clone(),
        recurring: r.rule.recurring,
        recurring_months: r.rule.recurring_months,
    }
}

/// The normalised wire shapes of rules.
pub fn to_wire_all(rules: &[RuleSpec]) -> Vec<SubRule> {
    rules.iter().map(to_wire).collect()
}

/// The stored form of rules: the JSON text of [`to_wire_all`] (read back by
/// [`rules_from_stored`]).
pub fn rules_stored(rules: &[RuleSpec]) -> String {
    serde_json::to_string(&to_wire_all(rules)).unwrap_or_else(|_| "[]".to_owned())
}

/// Reads stored rules back (the stored JSON was produced by [`rules_stored`]); unreadable
/// storage yields no rules rather than a panic.
pub fn rules_from_stored(text: &str) -> Vec<RuleSpec> {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| parse_rules(&v).ok())
        .unwrap_or_default()
}

/// The engine rules of stored specs.
pub fn engine_rules(specs: &[RuleSpec]) -> Vec<engine::SubRule> {
    specs.iter().map(|s| s.rule.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    #[test]
    fn legacy_object_normalised() {
        let r = parse_rules(&json!({"type":"percent","value":20,"recurring":true})).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].rule.trigger, Trigger::Every);
        assert_eq!(r[0].rule.value, dec!(20));
        assert_eq!(
            rules_stored(&r),
            r#"[{"trigger":"every","type":"percent","value":20,"recurring":true}]"#
        );
    }

    #[test]
    fn full_rules_round_trip() {
        let v = json!([
            {"trigger":"first","eventType":"sale","type":"fixed","value":"12.50","currency":"eur"},
            {"trigger":"subsequent","eventType":"sale","type":"percent","value":7.5,"recurring":true,"recurringMonths":12}
        ]);
        let r = parse_rules(&v).unwrap();
        assert_eq!(r[0].currency.as_deref(), Some("EUR"));
        assert_eq!(r[0].rule.value, dec!(12.50));
        assert_eq!(r[1].rule.recurring_months, Some(12));
        let stored = rules_stored(&r);
        assert_eq!(rules_from_stored(&stored), r);
        assert!(stored.contains(r#""value":12.5"#));
    }

    #[test]
    fn validation_errors() {
        let bad = |v: Value| parse_rules(&v).unwrap_err().join("; ");
        assert!(bad(json!([])).contains("1-10"));
        assert!(bad(json!(vec![json!({"type":"fixed","value":1}); 11])).contains("1-10"));
        assert!(bad(json!({"type":"fixed","value":0})).contains("value"));
        assert!(bad(json!({"type":"fixed","value":-1})).contains("value"));
        assert!(bad(json!({"type":"bogus","value":1})).contains("type"));
        assert!(bad(json!({"trigger":"first","type":"fixed","value":1})).contains("eventType"));
        assert!(bad(json!({"trigger":"later","type":"fixed","value":1})).contains("trigger"));
        assert!(bad(json!({"type":"percent","value":1,"currency":"USD"})).contains("currency"));
        assert!(bad(json!({"type":"fixed","value":1,"currency":"US"})).contains("currency"));
        assert!(bad(json!({"type":"fixed","value":1,"recurringMonths":3})).contains("recurring"));
        assert!(
            bad(json!({"type":"fixed","value":1,"recurring":true,"recurringMonths":601}))
                .contains("recurringMonths")
        );
        assert!(bad(json!({"type":"fixed","value":1,"eventType":""})).contains("eventType"));
        assert!(bad(json!("x")).contains("expected"));
    }

    #[test]
    fn dec_number_exact() {
        assert_eq!(dec_number(dec!(40.00)).to_string(), "40");
        assert_eq!(dec_number(dec!(299.97)).to_string(), "299.97");
        assert_eq!(dec_number(dec!(0.3333)).to_string(), "0.3333");
        assert_eq!(decimal_of(&json!(0.1)), Some(dec!(0.1)));
    }
}
