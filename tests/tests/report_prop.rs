//! Property: for random event streams (random partners, clicks, identities, values with
//! cents, currencies, attribution models and rules), the per-currency Σ of commission
//! amounts printed by `openpartner commissions report` equals the Σ over the raw
//! `/export/Commission.json` rows, to the cent, for every `--group-by`; and the group rows
//! add up to the totals. Modest case count so it runs well under a minute.

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use openpartner::types::{AttributionModel, RecordClick, RuleType, SubRule, TrackEvent};
use openpartner_e2e::{report_groups, report_totals, Env};
use proptest::prelude::*;
use rust_decimal::Decimal;

#[derive(Debug, Clone)]
struct Scenario {
    model: usize,
    percent: Option<(i64, u32)>,
    fixed_cents: i64,
    partners: usize,
    clicks: Vec<(usize, i64)>,
    stitches: Vec<(usize, usize)>,
    events: Vec<(usize, i64, usize, i64)>,
    group_by: usize,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        0usize..4,
        prop::option::of((1i64..5000, 0u32..3)),
        1i64..2000,
        1usize..4,
        prop::collection::vec((0usize..4, 0i64..10 * 24 * 60), 1..8),
        prop::collection::vec((0usize..4, 0usize..8), 1..10),
        prop::collection::vec(
            (0usize..4, 0i64..1_000_000, 0usize..3, 0i64..20 * 24 * 60),
            1..25,
        ),
        0usize..5,
    )
        .prop_map(
            |(model, percent, fixed_cents, partners, clicks, stitches, events, group_by)| {
                Scenario {
                    model,
                    percent,
                    fixed_cents,
                    partners,
                    clicks,
                    stitches,
                    events,
                    group_by,
                }
            },
        )
}

const GROUPS: [&str; 5] = ["partner", "program", "status", "currency", "day"];
const CURRENCIES: [&str; 3] = ["USD", "EUR", "JPY"];

fn run_case(s: &Scenario) -> Result<(), TestCaseError> {
    let env = Env::start();
    let sdk = env.client();
    let model = [
        AttributionModel::LastClick,
        AttributionModel::FirstClick,
        AttributionModel::Linear,
        AttributionModel::Position,
    ][s.model]
        .clone();
    let rule = match s.percent {
        // e.g. 12.5 % or 33.33 %
        Some((v, scale)) => SubRule::every(
            RuleType::Percent,
            Decimal::new(v, scale).min(Decimal::new(100, 0)),
        ),
        None => SubRule::every(RuleType::Fixed, Decimal::new(s.fixed_cents, 2)),
    };
    let base = Utc
        .with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
        .single()
        .expect("time");
    env.block_on(async {
        let program = sdk
            .programs()
            .create("Prop", vec![rule], "https://shop.example.com/")
            .attribution_model(model)
            .attribution_window_days(30)
            .send()
            .await
            .expect("program");
        for p in 0..s.partners {
            let created = sdk
                .partners()
                .create(format!("p{p}@example.com"), format!("P{p}"))
                .send_invite(false)
                .send()
                .await
                .expect("partner");
            sdk.links()
                .create(&created.partner.id, format!("link-{p}"), &program.id)
                .send()
                .await
                .expect("link");
        }
        for (i, (p, minutes)) in s.clicks.iter().enumerate() {
            let click = RecordClick {
                id: format!("clk_prop_case_{i:012}"),
                link_key: format!("link-{}", p % s.partners),
                landing_url: "https://shop.example.com/".into(),
                ip_hash: None,
                user_agent: None,
                referer: None,
                fraud_flag: None,
                ts: base + Duration::minutes(*minutes),
            };
            sdk.clicks().record(&click).send().await.expect("click");
        }
        for (user, click) in &s.stitches {
            let cref = format!("clk_prop_case_{:012}", click % s.clicks.len());
            sdk.identify(&cref, format!("user-{user}"))
                .await
                .expect("identify");
        }
        for (user, cents, cur, minutes) in &s.events {
            let ev = TrackEvent::new(format!("user-{user}"), "sale")
                .value(Decimal::new(*cents, 2))
                .currency(CURRENCIES[*cur])
                .ts(base + Duration::minutes(*minutes));
            sdk.events().track(&ev).send().await.expect("event");
        }
    });
    let group = GROUPS[s.group_by];
    let csv = env.ok(&["commissions", "report", "--group-by", group, "-o", "csv"]);
    let totals = report_totals(&csv);
    let raw = env.export_sums(None);
    let report_sums: BTreeMap<String, Decimal> =
        totals.iter().map(|(c, (_, s))| (c.clone(), *s)).collect();
    prop_assert_eq!(&report_sums, &raw, "report vs export ({})", group);
    let mut from_groups: BTreeMap<String, Decimal> = BTreeMap::new();
    for (_, cur, _, sum) in report_groups(&csv) {
        *from_groups.entry(cur).or_default() += sum.parse::<Decimal>().expect("decimal");
    }
    prop_assert_eq!(&from_groups, &raw, "groups vs export ({})", group);
    // Every amount is at cent precision.
    for v in raw.values() {
        prop_assert!(v.scale() <= 2, "{v}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 20, ..ProptestConfig::default() })]
    #[test]
    fn report_sums_equal_raw_export_to_the_cent(s in scenario()) {
        run_case(&s)?;
    }
}
