//! The attribution engine of API.md §3.4 as pure functions over plain structs.
//!
//! Nothing in this module touches the database, the clock or the network: the route
//! handlers (`POST /attribution/events`), the identify backfill, the fraud-review unflag
//! and the demo seed all gather the facts an event needs ([`EngineInput`]), call
//! [`attribute`], and write the returned [`Decision`] in one transaction. That keeps live
//! runs, backlog re-runs and the seed on one code path, and lets the maths be unit-tested
//! exhaustively.
//!
//! Money is [`Decimal`] throughout; there is no binary floating point anywhere, and every
//! rounding is half-up (away from zero) via [`RoundingStrategy::MidpointAwayFromZero`].
//!
//! Weights are exact rationals ([`Weight`]): the stored weight is rounded to 4 dp
//! (`1/3` → `0.3333`) but commission amounts use the exact fraction, computed as
//! `base × num / den` so that a midpoint such as `0.03 / 6 = 0.005` is seen exactly and
//! rounds up.
//!
//! Time is epoch milliseconds (`i64`) throughout.

use std::collections::{HashMap, HashSet};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// The grace before a click: an event up to 5 minutes *before* the click still counts.
pub const GRACE_MS: i64 = 5 * 60 * 1000;
/// One `recurringMonths` month: 30.4375 days = 2 629 800 000 ms (exact).
pub const MONTH_MS: i64 = 2_629_800_000;

/// Rounds money half-up (away from zero) to cents, always with scale 2 (`40` → `40.00`).
pub fn round_money(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

/// Rounds a weight half-up to the 4 decimals it is stored with, always with scale 4
/// (`1/3` → `0.3333`, `1` → `1.0000`).
pub fn round_weight(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(4);
    r
}

/// Step 0: the stored event value — half-up to 2 dp, a missing value counts as 0.
pub fn stored_event_value(value: Option<Decimal>) -> Decimal {
    round_money(value.unwrap_or(Decimal::ZERO))
}

/// Attribution model of a program (`attributionModel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// `last_click` (the default): weight 1 on the latest eligible click.
    LastClick,
    /// `first_click`: weight 1 on the earliest eligible click.
    FirstClick,
    /// `linear`: 1/n on each eligible click.
    Linear,
    /// `position`: n=1 `[1]`, n=2 `[.5, .5]`, n≥3 .4 first, .4 last, .2/(n−2) between.
    Position,
}

impl Model {
    /// The wire name (`last_click`, `first_click`, `linear`, `position`).
    pub fn as_str(self) -> &'static str {
        match self {
            Model::LastClick => "last_click",
            Model::FirstClick => "first_click",
            Model::Linear => "linear",
            Model::Position => "position",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Model> {
        match s {
            "last_click" => Some(Model::LastClick),
            "first_click" => Some(Model::FirstClick),
            "linear" => Some(Model::Linear),
            "position" => Some(Model::Position),
            _ => None,
        }
    }
}

/// An exact weight `num / den` (both > 0 for a stored touch; `num == 0` means no touch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weight {
    /// Numerator.
    pub num: u32,
    /// Denominator (never 0).
    pub den: u32,
}

impl Weight {
    /// Weight 1.
    pub const ONE: Weight = Weight { num: 1, den: 1 };
    /// Weight 0 (no attribution is written for it).
    pub const ZERO: Weight = Weight { num: 0, den: 1 };

    /// The weight as stored and shown: rounded half-up to 4 dp (`1/3` → `0.3333`).
    pub fn stored(self) -> Decimal {
        round_weight(Decimal::from(self.num) / Decimal::from(self.den))
    }

    /// `base × num / den` rounded half-up to cents — the exact weight, never the stored one.
    pub fn apply(self, base: Decimal) -> Decimal {
        round_money(base * Decimal::from(self.num) / Decimal::from(self.den))
    }

    /// True when the weight is above zero (a touch is written).
    pub fn is_positive(self) -> bool {
        self.num > 0
    }
}

/// Step 3: the weights of `n` sorted eligible clicks (oldest first) under `model`.
pub fn weights(model: Model, n: usize) -> Vec<Weight> {
    if n == 0 {
        return Vec::new();
    }
    let n32 = u32::try_from(n).unwrap_or(u32::MAX);
    match model {
        Model::LastClick => {
            let mut w = vec![Weight::ZERO; n];
            w[n - 1] = Weight::ONE;
            w
        }
        Model::FirstClick => {
            let mut w = vec![Weight::ZERO; n];
            w[0] = Weight::ONE;
            w
        }
        Model::Linear => vec![Weight { num: 1, den: n32 }; n],
        Model::Position => match n {
            1 => vec![Weight::ONE],
            2 => vec![Weight { num: 1, den: 2 }; 2],
            _ => {
                // .2 / (n − 2) = 1 / (5 (n − 2))
                let mid = Weight {
                    num: 1,
                    den: 5u32.saturating_mul(n32 - 2),
                };
                let mut w = vec![mid; n];
                w[0] = Weight { num: 2, den: 5 };
                w[n - 1] = Weight { num: 2, den: 5 };
                w
            }
        },
    }
}

/// `trigger` of a sub-rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Fires on every matching event.
    Every,
    /// Fires only when the partner has no earlier attributed event of this user and type.
    First,
    /// Fires only when the partner has an earlier attributed event of this user and type.
    Subsequent,
}

/// `type` of a sub-rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// `value` percent of the event value.
    Percent,
    /// `value` in the event's currency.
    Fixed,
}

/// One commission sub-rule (validated elsewhere; see `routes::programs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubRule {
    /// When it fires.
    pub trigger: Trigger,
    /// Only events of this type (required for first/subsequent).
    pub event_type: Option<String>,
    /// Percent or fixed.
    pub kind: RuleKind,
    /// The percentage (20 = 20 %) or the fixed amount.
    pub value: Decimal,
    /// With `recurring_months`: stop paying that many months after the first attributed event.
    pub recurring: bool,
    /// 1–600; only meaningful with `recurring`.
    pub recurring_months: Option<u32>,
}

/// The commission terms that apply to a partner (its snapshot, else the program's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// Sub-rules, applied in order (each may write one commission per touch).
    pub rules: Vec<SubRule>,
    /// Holdback in days (`None` = no holdback).
    pub holdback_days: Option<i64>,
}

/// What the engine needs to know about a program.
#[derive(Debug, Clone)]
pub struct ProgramFacts {
    /// `attributionWindowDays` (1–365).
    pub window_days: i64,
    /// `attributionModel`.
    pub model: Model,
    /// `startsAt` (inclusive), epoch ms.
    pub starts_at_ms: Option<i64>,
    /// `endsAt` (exclusive), epoch ms.
    pub ends_at_ms: Option<i64>,
    /// The program's own rules and holdback.
    pub terms: Terms,
}

/// A click of one of the user's identities.
#[derive(Debug, Clone)]
pub struct ClickFacts {
    /// Click id (the sort tie-breaker).
    pub id: String,
    /// Click time, epoch ms.
    pub ts_ms: i64,
    /// The link's partner.
    pub partner_id: String,
    /// The link's program.
    pub program_id: String,
    /// `fraudFlag` is set (velocity, manual or revoked).
    pub flagged: bool,
    /// The partner is revoked now.
    pub partner_revoked: bool,
}

/// The event being attributed.
#[derive(Debug, Clone)]
pub struct EventFacts {
    /// Event type.
    pub event_type: String,
    /// The stored value (already [`stored_event_value`]).
    pub value: Decimal,
    /// Upper-cased 3-letter currency.
    pub currency: String,
    /// Event time, epoch ms.
    pub ts_ms: i64,
}

/// Everything [`attribute`] reads.
#[derive(Debug, Clone, Default)]
pub struct EngineInput {
    /// True when at least one identity row has the event's `userId`.
    pub has_identity: bool,
    /// All clicks of those identities (flagged ones included; the engine filters).
    pub clicks: Vec<ClickFacts>,
    /// The programs of those clicks, by id.
    pub programs: HashMap<String, ProgramFacts>,
    /// Partner commission snapshots, by partner id (override the program's terms).
    pub snapshots: HashMap<String, Terms>,
    /// Per partner: the ts of the earliest *other* attributed event of this partner, user
    /// and type (absent when there is none).
    pub earliest_attributed_ms: HashMap<String, i64>,
    /// `(model, clickId)` pairs already attributed for this event.
    pub existing: HashSet<(Model, String)>,
    /// "Now" (the accrual time), epoch ms; `matureAt = now + holdbackDays`.
    pub now_ms: i64,
}

/// A commission to write for a touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionPlan {
    /// Amount in the event currency, rounded to cents, > 0.
    pub amount: Decimal,
    /// The event's currency (a fixed rule's own currency is not used).
    pub currency: String,
    /// Holdback of the applicable terms.
    pub holdback_days: Option<i64>,
    /// `accruedAt + holdbackDays`, when there is a holdback.
    pub mature_at_ms: Option<i64>,
    /// Index of the sub-rule that produced it.
    pub rule_index: usize,
}

/// A new attribution to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touch {
    /// The click.
    pub click_id: String,
    /// Its partner.
    pub partner_id: String,
    /// Its program.
    pub program_id: String,
    /// The exact weight (store [`Weight::stored`]).
    pub weight: Weight,
    /// Commissions to write (possibly none).
    pub commissions: Vec<CommissionPlan>,
}

/// The result of attributing one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// No identity has the user id.
    NoIdentity,
    /// No usable click (none, or all flagged / of revoked partners).
    NoClick,
    /// Clicks exist but none within its program's window.
    OutsideWindow,
    /// Every weighted click is already attributed for this event and model.
    AlreadyAttributed {
        /// The model used.
        model: Model,
    },
    /// New attributions.
    Attributed {
        /// The model used.
        model: Model,
        /// The new touches only, oldest click first.
        touches: Vec<Touch>,
    },
}

impl Decision {
    /// The wire status (`attributed`, `no_identity`, …).
    pub fn status(&self) -> &'static str {
        match self {
            Decision::NoIdentity => "no_identity",
            Decision::NoClick => "no_click",
            Decision::OutsideWindow => "outside_window",
            Decision::AlreadyAttributed { .. } => "already_attributed",
            Decision::Attributed { .. } => "attributed",
        }
    }
}

/// True when `event_ts − click_ts` is within `[−5 min, window_days]`, both ends inclusive.
pub fn in_window(event_ts_ms: i64, click_ts_ms: i64, window_days: i64) -> bool {
    let delta = i128::from(event_ts_ms) - i128::from(click_ts_ms);
    delta >= -i128::from(GRACE_MS) && delta <= i128::from(window_days) * i128::from(DAY_MS)
}

/// True when the event is inside the program's `[startsAt, endsAt)` (commission gate).
pub fn in_program_dates(p: &ProgramFacts, event_ts_ms: i64) -> bool {
    p.starts_at_ms.is_none_or(|s| event_ts_ms >= s) && p.ends_at_ms.is_none_or(|e| event_ts_ms < e)
}

/// The base of a sub-rule before weighting: fixed = value; percent = the percentage of the
/// event value rounded half-up to cents (`round(eventValue × value) / 100`).
pub fn rule_base(rule: &SubRule, event_value: Decimal) -> Decimal {
    match rule.kind {
        RuleKind::Fixed => rule.value,
        RuleKind::Percent => round_money(event_value * rule.value / Decimal::ONE_HUNDRED),
    }
}

/// Step 6 for one touch: which sub-rules fire and for how much.
///
/// `earliest_other_ms` is the ts of the partner's earliest other attributed event of this
/// user and type.
pub fn commissions_for_touch(
    terms: &Terms,
    event: &EventFacts,
    weight: Weight,
    earliest_other_ms: Option<i64>,
    now_ms: i64,
) -> Vec<CommissionPlan> {
    let has_earlier = earliest_other_ms.is_some_and(|t| t < event.ts_ms);
    let first_ts = earliest_other_ms.map_or(event.ts_ms, |t| t.min(event.ts_ms));
    let mut out = Vec::new();
    for (i, rule) in terms.rules.iter().enumerate() {
        if rule
            .event_type
            .as_deref()
            .is_some_and(|t| t != event.event_type)
        {
            continue;
        }
        match rule.trigger {
            Trigger::Every => {}
            Trigger::First if has_earlier => continue,
            Trigger::Subsequent if !has_earlier => continue,
            Trigger::First | Trigger::Subsequent => {}
        }
        if rule.recurring {
            if let Some(months) = rule.recurring_months {
                let limit = i128::from(months) * i128::from(MONTH_MS);
                if i128::from(event.ts_ms) - i128::from(first_ts) > limit {
                    continue;
                }
            }
        }
        let amount = weight.apply(rule_base(rule, event.value));
        if amount.is_zero() {
            continue;
        }
        out.push(CommissionPlan {
            amount,
            currency: event.currency.clone(),
            holdback_days: terms.holdback_days,
            mature_at_ms: terms
                .holdback_days
                .map(|d| now_ms.saturating_add(d.saturating_mul(DAY_MS))),
            rule_index: i,
        });
    }
    out
}

/// Steps 1–6 of §3.4 for one event.
pub fn attribute(event: &EventFacts, input: &EngineInput) -> Decision {
    if !input.has_identity {
        return Decision::NoIdentity;
    }
    let usable: Vec<&ClickFacts> = input
        .clicks
        .iter()
        .filter(|c| !c.flagged && !c.partner_revoked && input.programs.contains_key(&c.program_id))
        .collect();
    if usable.is_empty() {
        return Decision::NoClick;
    }
    let mut eligible: Vec<(&ClickFacts, &ProgramFacts)> = usable
        .into_iter()
        .filter_map(|c| input.programs.get(&c.program_id).map(|p| (c, p)))
        .filter(|(c, p)| in_window(event.ts_ms, c.ts_ms, p.window_days))
        .collect();
    if eligible.is_empty() {
        return Decision::OutsideWindow;
    }
    eligible.sort_by(|a, b| a.0.ts_ms.cmp(&b.0.ts_ms).then_with(|| a.0.id.cmp(&b.0.id)));
    // Two identities of the user may carry the same click: count it once.
    eligible.dedup_by(|a, b| a.0.id == b.0.id);
    let model = match eligible.last() {
        Some((_, p)) => p.model,
        None => return Decision::OutsideWindow,
    };
    let ws = weights(model, eligible.len());
    let mut touches = Vec::new();
    let mut any_weighted = false;
    for ((click, program), weight) in eligible.iter().zip(ws) {
        if !weight.is_positive() {
            continue;
        }
        any_weighted = true;
        if input.existing.contains(&(model, click.id.clone())) {
            continue;
        }
        let commissions = if in_program_dates(program, event.ts_ms) {
            let terms = input
                .snapshots
                .get(&click.partner_id)
                .unwrap_or(&program.terms);
            commissions_for_touch(
                terms,
                event,
                weight,
                input.earliest_attributed_ms.get(&click.partner_id).copied(),
                input.now_ms,
            )
        } else {
            Vec::new()
        };
        touches.push(Touch {
            click_id: click.id.clone(),
            partner_id: click.partner_id.clone(),
            program_id: click.program_id.clone(),
            weight,
            commissions,
        });
    }
    if touches.is_empty() && any_weighted {
        Decision::AlreadyAttributed { model }
    } else {
        Decision::Attributed { model, touches }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn rule(kind: RuleKind, value: Decimal) -> SubRule {
        SubRule {
            trigger: Trigger::Every,
            event_type: None,
            kind,
            value,
            recurring: false,
            recurring_months: None,
        }
    }

    fn program(model: Model, rules: Vec<SubRule>) -> ProgramFacts {
        ProgramFacts {
            window_days: 30,
            model,
            starts_at_ms: None,
            ends_at_ms: None,
            terms: Terms {
                rules,
                holdback_days: None,
            },
        }
    }

    fn click(id: &str, ts: i64, partner: &str, program: &str) -> ClickFacts {
        ClickFacts {
            id: id.into(),
            ts_ms: ts,
            partner_id: partner.into(),
            program_id: program.into(),
            flagged: false,
            partner_revoked: false,
        }
    }

    fn event(value: Decimal, ts: i64) -> EventFacts {
        EventFacts {
            event_type: "sale".into(),
            value,
            currency: "USD".into(),
            ts_ms: ts,
        }
    }

    fn input(clicks: Vec<ClickFacts>, programs: Vec<(&str, ProgramFacts)>) -> EngineInput {
        EngineInput {
            has_identity: true,
            clicks,
            programs: programs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            now_ms: 1_000,
            ..EngineInput::default()
        }
    }

    fn touches(d: &Decision) -> &[Touch] {
        match d {
            Decision::Attributed { touches, .. } => touches,
            other => panic!("expected attributed, got {other:?}"),
        }
    }

    const T0: i64 = 1_700_000_000_000;

    #[test]
    fn rounding_is_half_up_not_bankers() {
        assert_eq!(round_money(dec!(0.025)), dec!(0.03));
        assert_eq!(round_money(dec!(0.035)), dec!(0.04));
        assert_eq!(round_money(dec!(2.345)), dec!(2.35));
        assert_eq!(round_money(dec!(-0.025)), dec!(-0.03));
        assert_eq!(round_weight(dec!(0.16665)), dec!(0.1667));
        assert_eq!(stored_event_value(Some(dec!(10.005))), dec!(10.01));
        assert_eq!(stored_event_value(None), dec!(0));
    }

    #[test]
    fn spec_rounding_cases() {
        // 0.05 × 0.5 → 0.03
        assert_eq!(Weight { num: 1, den: 2 }.apply(dec!(0.05)), dec!(0.03));
        // 50% of 0.29 → 0.15
        let r = rule(RuleKind::Percent, dec!(50));
        assert_eq!(rule_base(&r, dec!(0.29)), dec!(0.15));
        // 20% of 200 → 40.00
        let r = rule(RuleKind::Percent, dec!(20));
        assert_eq!(rule_base(&r, dec!(200)), dec!(40.00));
        assert_eq!(
            Weight::ONE.apply(rule_base(&r, dec!(200))).to_string(),
            "40.00"
        );
    }

    #[test]
    fn exact_weight_not_stored_weight() {
        let third = Weight { num: 1, den: 3 };
        assert_eq!(third.stored(), dec!(0.3333));
        // 20% of 300 = 60 → 60/3 = 20.00 exactly (the stored 0.3333 would give 20.00 too,
        // but 100/3 shows the difference: 33.33 vs 33.33; use 3.00 → 1.00 vs 1.00).
        assert_eq!(third.apply(dec!(60)), dec!(20.00));
        // A midpoint only the exact fraction sees: 0.03 / 6 = 0.005 → 0.01.
        assert_eq!(Weight { num: 1, den: 6 }.apply(dec!(0.03)), dec!(0.01));
        // With the stored weight 0.1667 it would be 0.005001 → 0.01 as well, but 0.09/6:
        // exact 0.015 → 0.02; stored 0.1667 × 0.09 = 0.015003 → 0.02. And 299.99/3:
        assert_eq!(third.apply(dec!(299.99)), dec!(100.00));
        assert_eq!(round_money(dec!(299.99) * dec!(0.3333)), dec!(99.99));
    }

    #[test]
    fn position_weights() {
        let stored = |n| {
            weights(Model::Position, n)
                .into_iter()
                .map(Weight::stored)
                .collect::<Vec<_>>()
        };
        assert_eq!(stored(1), vec![dec!(1)]);
        assert_eq!(stored(2), vec![dec!(0.5), dec!(0.5)]);
        assert_eq!(stored(3), vec![dec!(0.4), dec!(0.2), dec!(0.4)]);
        assert_eq!(
            stored(5),
            vec![
                dec!(0.4),
                dec!(0.0667),
                dec!(0.0667),
                dec!(0.0667),
                dec!(0.4)
            ]
        );
        // Exact weights sum to one.
        for n in 1..12 {
            let sum: Decimal = weights(Model::Position, n)
                .into_iter()
                .map(|w| Decimal::from(w.num) / Decimal::from(w.den))
                .sum();
            assert_eq!(round_weight(sum), dec!(1), "n={n}");
        }
    }

    #[test]
    fn other_model_weights() {
        assert_eq!(
            weights(Model::LastClick, 3),
            vec![Weight::ZERO, Weight::ZERO, Weight::ONE]
        );
        assert_eq!(
            weights(Model::FirstClick, 3),
            vec![Weight::ONE, Weight::ZERO, Weight::ZERO]
        );
        assert_eq!(
            weights(Model::Linear, 3),
            vec![Weight { num: 1, den: 3 }; 3]
        );
        assert!(weights(Model::Linear, 0).is_empty());
        assert_eq!(Weight { num: 1, den: 3 }.stored().to_string(), "0.3333");
    }

    #[test]
    fn model_names_round_trip() {
        for m in [
            Model::LastClick,
            Model::FirstClick,
            Model::Linear,
            Model::Position,
        ] {
            assert_eq!(Model::parse(m.as_str()), Some(m));
        }
        assert_eq!(Model::parse("LAST_CLICK"), None);
    }

    #[test]
    fn window_bounds_to_the_millisecond() {
        let w = 30 * DAY_MS;
        assert!(in_window(T0 + w, T0, 30));
        assert!(!in_window(T0 + w + 1, T0, 30));
        assert!(in_window(T0 - GRACE_MS, T0, 30));
        assert!(!in_window(T0 - GRACE_MS - 1, T0, 30));
        assert!(in_window(T0, T0, 1));
    }

    #[test]
    fn statuses_before_attribution() {
        let p = program(Model::LastClick, vec![rule(RuleKind::Percent, dec!(20))]);
        let e = event(dec!(200), T0);
        let mut i = input(vec![], vec![("p", p.clone())]);
        i.has_identity = false;
        assert_eq!(attribute(&e, &i), Decision::NoIdentity);
        i.has_identity = true;
        assert_eq!(attribute(&e, &i), Decision::NoClick);
        let mut c = click("c1", T0 - DAY_MS, "a", "p");
        c.flagged = true;
        i.clicks = vec![c.clone()];
        assert_eq!(attribute(&e, &i), Decision::NoClick);
        c.flagged = false;
        c.partner_revoked = true;
        i.clicks = vec![c.clone()];
        assert_eq!(attribute(&e, &i), Decision::NoClick);
        c.partner_revoked = false;
        c.ts_ms = T0 - 30 * DAY_MS - 1;
        i.clicks = vec![c];
        assert_eq!(attribute(&e, &i), Decision::OutsideWindow);
    }

    #[test]
    fn twenty_percent_of_200() {
        let p = program(Model::LastClick, vec![rule(RuleKind::Percent, dec!(20))]);
        let i = input(vec![click("c1", T0 - 1000, "a", "p")], vec![("p", p)]);
        let d = attribute(&event(dec!(200), T0), &i);
        let t = touches(&d);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].weight, Weight::ONE);
        assert_eq!(t[0].commissions.len(), 1);
        assert_eq!(t[0].commissions[0].amount.to_string(), "40.00");
        assert_eq!(t[0].commissions[0].currency, "USD");
    }

    #[test]
    fn linear_over_two_partners() {
        let p = program(Model::Linear, vec![rule(RuleKind::Percent, dec!(20))]);
        let i = input(
            vec![
                click("c2", T0 - 1000, "b", "p"),
                click("c1", T0 - 2000, "a", "p"),
            ],
            vec![("p", p)],
        );
        let d = attribute(&event(dec!(100), T0), &i);
        let t = touches(&d);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].click_id, "c1");
        assert_eq!(t[0].partner_id, "a");
        assert_eq!(t[1].partner_id, "b");
        for x in t {
            assert_eq!(x.weight.stored(), dec!(0.5));
            assert_eq!(x.commissions[0].amount, dec!(10.00));
        }
    }

    #[test]
    fn sort_ties_break_on_click_id_and_model_comes_from_latest() {
        let first = program(Model::FirstClick, vec![rule(RuleKind::Fixed, dec!(5))]);
        let last = program(Model::LastClick, vec![rule(RuleKind::Fixed, dec!(7))]);
        // Same ts: "b" sorts after "a", so b's program (first_click) decides the model,
        // and first_click picks "a".
        let i = input(
            vec![
                click("b", T0 - 10, "x", "pf"),
                click("a", T0 - 10, "y", "pl"),
            ],
            vec![("pf", first), ("pl", last)],
        );
        let d = attribute(&event(dec!(100), T0), &i);
        match &d {
            Decision::Attributed { model, touches } => {
                assert_eq!(*model, Model::FirstClick);
                assert_eq!(touches.len(), 1);
                assert_eq!(touches[0].click_id, "a");
                // the touch's own program's rule (pl: fixed 7) pays
                assert_eq!(touches[0].commissions[0].amount, dec!(7));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn already_attributed_and_partial() {
        let p = program(Model::Linear, vec![rule(RuleKind::Fixed, dec!(3))]);
        let mut i = input(
            vec![
                click("c1", T0 - 20, "a", "p"),
                click("c2", T0 - 10, "b", "p"),
            ],
            vec![("p", p)],
        );
        i.existing.insert((Model::Linear, "c1".into()));
        i.existing.insert((Model::Linear, "c2".into()));
        assert_eq!(
            attribute(&event(dec!(1), T0), &i),
            Decision::AlreadyAttributed {
                model: Model::Linear
            }
        );
        i.existing.remove(&(Model::Linear, "c2".into()));
        let d = attribute(&event(dec!(1), T0), &i);
        let t = touches(&d);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].click_id, "c2");
        // fixed 3 × 1/2
        assert_eq!(t[0].commissions[0].amount, dec!(1.50));
    }

    #[test]
    fn three_linear_touches_use_exact_third() {
        let p = program(Model::Linear, vec![rule(RuleKind::Percent, dec!(10))]);
        let i = input(
            vec![
                click("c1", T0 - 30, "a", "p"),
                click("c2", T0 - 20, "b", "p"),
                click("c3", T0 - 10, "c", "p"),
            ],
            vec![("p", p)],
        );
        let d = attribute(&event(dec!(300), T0), &i);
        let t = touches(&d);
        assert_eq!(t.len(), 3);
        for x in t {
            assert_eq!(x.weight.stored(), dec!(0.3333));
            assert_eq!(x.commissions[0].amount, dec!(10.00));
        }
    }

    #[test]
    fn zero_amount_skipped_and_no_value_counts_as_zero() {
        let p = program(Model::LastClick, vec![rule(RuleKind::Percent, dec!(20))]);
        let i = input(vec![click("c1", T0, "a", "p")], vec![("p", p)]);
        let d = attribute(&event(stored_event_value(None), T0), &i);
        let t = touches(&d);
        assert_eq!(t.len(), 1, "attribution is still recorded");
        assert!(t[0].commissions.is_empty());
        // 1% of 0.49 → 0.0049 → 0.00 → skipped
        let r = rule(RuleKind::Percent, dec!(1));
        assert!(commissions_for_touch(
            &Terms {
                rules: vec![r],
                holdback_days: None
            },
            &event(dec!(0.49), T0),
            Weight::ONE,
            None,
            0
        )
        .is_empty());
    }

    #[test]
    fn program_date_gate() {
        let mut p = program(Model::LastClick, vec![rule(RuleKind::Fixed, dec!(5))]);
        p.starts_at_ms = Some(T0);
        p.ends_at_ms = Some(T0 + 1000);
        let i = input(vec![click("c1", T0 - 1, "a", "p")], vec![("p", p)]);
        let pays = |ts| {
            let d = attribute(&event(dec!(1), ts), &i);
            !touches(&d)[0].commissions.is_empty()
        };
        assert!(!pays(T0 - 1));
        assert!(pays(T0));
        assert!(pays(T0 + 999));
        assert!(!pays(T0 + 1000), "endsAt is exclusive");
    }

    #[test]
    fn snapshot_overrides_program_terms() {
        let p = program(Model::LastClick, vec![rule(RuleKind::Percent, dec!(20))]);
        let mut i = input(vec![click("c1", T0, "a", "p")], vec![("p", p)]);
        i.snapshots.insert(
            "a".into(),
            Terms {
                rules: vec![rule(RuleKind::Fixed, dec!(9.5))],
                holdback_days: Some(14),
            },
        );
        let d = attribute(&event(dec!(100), T0), &i);
        let c = &touches(&d)[0].commissions[0];
        assert_eq!(c.amount, dec!(9.5));
        assert_eq!(c.holdback_days, Some(14));
        assert_eq!(c.mature_at_ms, Some(1_000 + 14 * DAY_MS));
    }

    #[test]
    fn first_subsequent_and_event_type() {
        let mut first = rule(RuleKind::Fixed, dec!(10));
        first.trigger = Trigger::First;
        first.event_type = Some("sale".into());
        let mut sub = rule(RuleKind::Percent, dec!(5));
        sub.trigger = Trigger::Subsequent;
        sub.event_type = Some("sale".into());
        let mut other = rule(RuleKind::Fixed, dec!(1));
        other.event_type = Some("signup".into());
        let terms = Terms {
            rules: vec![first, sub, other],
            holdback_days: None,
        };
        let e = event(dec!(100), T0);
        let none = commissions_for_touch(&terms, &e, Weight::ONE, None, 0);
        assert_eq!(none.len(), 1);
        assert_eq!((none[0].rule_index, none[0].amount), (0, dec!(10)));
        // an earlier attributed event → subsequent
        let later = commissions_for_touch(&terms, &e, Weight::ONE, Some(T0 - 1), 0);
        assert_eq!(later.len(), 1);
        assert_eq!((later[0].rule_index, later[0].amount), (1, dec!(5.00)));
        // same ts is not strictly earlier → still first
        let same = commissions_for_touch(&terms, &e, Weight::ONE, Some(T0), 0);
        assert_eq!(same[0].rule_index, 0);
        // a later attributed event does not make this one subsequent
        let after = commissions_for_touch(&terms, &e, Weight::ONE, Some(T0 + 5), 0);
        assert_eq!(after[0].rule_index, 0);
    }

    #[test]
    fn recurring_months_boundary_pays() {
        let mut r = rule(RuleKind::Fixed, dec!(2));
        r.recurring = true;
        r.recurring_months = Some(2);
        let terms = Terms {
            rules: vec![r.clone()],
            holdback_days: None,
        };
        let first = T0;
        let at =
            |ts| commissions_for_touch(&terms, &event(dec!(1), ts), Weight::ONE, Some(first), 0);
        assert_eq!(at(first + 2 * MONTH_MS).len(), 1, "boundary still pays");
        assert!(at(first + 2 * MONTH_MS + 1).is_empty());
        assert_eq!(MONTH_MS, 30 * DAY_MS + DAY_MS * 4375 / 10_000);
        // recurring without months changes nothing
        let mut r2 = r;
        r2.recurring_months = None;
        let t2 = Terms {
            rules: vec![r2],
            holdback_days: None,
        };
        assert_eq!(
            commissions_for_touch(
                &t2,
                &event(dec!(1), first + 100 * MONTH_MS),
                Weight::ONE,
                Some(first),
                0
            )
            .len(),
            1
        );
        // no earlier event: the event itself is the first → pays
        assert_eq!(at(first).len(), 1);
    }

    #[test]
    fn multiple_rules_fire_in_order() {
        let terms = Terms {
            rules: vec![
                rule(RuleKind::Percent, dec!(10)),
                rule(RuleKind::Fixed, dec!(1)),
            ],
            holdback_days: Some(0),
        };
        let c = commissions_for_touch(
            &terms,
            &event(dec!(50), T0),
            Weight { num: 1, den: 2 },
            None,
            7,
        );
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].amount, dec!(2.50));
        assert_eq!(c[1].amount, dec!(0.50));
        assert_eq!(c[0].mature_at_ms, Some(7));
    }

    #[test]
    fn duplicate_click_through_two_identities_counts_once() {
        let p = program(Model::Linear, vec![rule(RuleKind::Fixed, dec!(4))]);
        let c = click("c1", T0, "a", "p");
        let i = input(vec![c.clone(), c], vec![("p", p)]);
        let d = attribute(&event(dec!(1), T0), &i);
        assert_eq!(touches(&d).len(), 1);
        assert_eq!(touches(&d)[0].commissions[0].amount, dec!(4));
    }

    #[test]
    fn window_uses_each_clicks_own_program() {
        let mut short = program(Model::LastClick, vec![rule(RuleKind::Fixed, dec!(1))]);
        short.window_days = 1;
        let long = program(Model::LastClick, vec![rule(RuleKind::Fixed, dec!(2))]);
        let i = input(
            vec![
                click("old-long", T0 - 10 * DAY_MS, "a", "long"),
                click("old-short", T0 - 2 * DAY_MS, "b", "short"),
            ],
            vec![("short", short), ("long", long)],
        );
        let d = attribute(&event(dec!(1), T0), &i);
        let t = touches(&d);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].click_id, "old-long");
    }

    proptest::proptest! {
        /// `base × 1/n` rounded half-up equals the integer computation
        /// `floor((2·cents + n) / 2n)` for every base and n: no float, no banker's rounding,
        /// no error from the inexact decimal of 1/3, 1/7, ….
        #[test]
        fn exact_fraction_rounding_matches_integer_maths(cents in 0i64..1_000_000_000, n in 1u32..60) {
            let base = Decimal::new(cents, 2);
            let got = Weight { num: 1, den: n }.apply(base);
            let n64 = i64::from(n);
            let want = Decimal::new((2 * cents + n64) / (2 * n64), 2);
            proptest::prop_assert_eq!(got, want);
        }

        /// Percent bases are the percentage rounded half-up to cents.
        #[test]
        fn percent_base_matches_integer_maths(cents in 0i64..100_000_000, pct in 1i64..100) {
            let r = rule(RuleKind::Percent, Decimal::from(pct));
            let got = rule_base(&r, Decimal::new(cents, 2));
            // cents × pct / 100, half-up
            let want = Decimal::new((2 * cents * pct + 100) / 200, 2);
            proptest::prop_assert_eq!(got, want);
        }
    }
}
