//! Issue 11: identify's `backfilledAttributions` counts the user's past **events** whose
//! re-run ended `attributed` (API.md §3.3) — one per event however many attribution rows
//! it writes; `already_attributed` counts zero. Which rows and commissions are written is
//! unchanged (asserted amount by amount).

mod attribution_support;

use attribution_support::{ts, DAY, MIN, T};
use serde_json::{json, Value};

/// Partners A and B (links on a last-click program) and C (link on a position program).
struct Setup {
    t: T,
    a: String,
    b: String,
    c: String,
}

async fn setup() -> Setup {
    let t = T::new().await;
    let last = t.program(json!({"name": "Last click"})).await;
    let position = t
        .program(json!({"name": "Position", "attributionModel": "position"}))
        .await;
    let a = t.partner("a@example.com").await;
    let b = t.partner("b@example.com").await;
    let c = t.partner("c@example.com").await;
    t.link(&a, &last, "link-a").await;
    t.link(&b, &last, "link-b").await;
    t.link(&c, &position, "link-c").await;
    Setup { t, a, b, c }
}

/// The commissions of `partner`, as sorted `amount:status` strings.
fn amounts(all: &[Value], partner: &str) -> Vec<String> {
    let mut v: Vec<String> = all
        .iter()
        .filter(|c| c["partnerId"] == json!(partner))
        .map(|c| {
            format!(
                "{}:{}",
                c["amount"].as_str().unwrap(),
                c["status"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| format!("{s}:accrued")).collect();
    v.sort();
    v
}

/// Stitches the user's clicks through A's and B's links, tracks `values` (one event per
/// day from day 1), and checks each ended `attributed` to B alone (last click).
async fn stitched_events(s: &Setup, user: &str, values: &[i64], first_day: i64) {
    for (i, value) in values.iter().enumerate() {
        let r =
            s.t.track(
                user,
                "sale",
                json!(value),
                &ts((first_day + i as i64) * DAY),
            )
            .await;
        assert_eq!(r["attribution"]["status"], "attributed", "{r}");
        assert_eq!(r["attribution"]["model"], "last_click", "{r}");
        let touches = r["attribution"]["touches"].as_array().unwrap();
        assert_eq!(touches.len(), 1, "{r}");
        assert_eq!(touches[0]["partnerId"], json!(s.b));
    }
}

#[tokio::test]
async fn one_stitch_counts_each_reattributed_event_once_however_many_touches_it_writes() {
    let s = setup().await;
    let t = &s.t;
    let ca = t.click("link-a", &ts(0)).await;
    let cb = t.click("link-b", &ts(MIN)).await;
    let cc = t.click("link-c", &ts(2 * MIN)).await;
    for c in [&ca, &cb] {
        let id = t.identify(c, "u").await;
        assert_eq!(id.status, 200, "{}", id.text);
        assert_eq!(id.body["backfilledAttributions"], json!(0));
    }
    stitched_events(&s, "u", &[100, 200, 300], 1).await;

    // The stitch of C's click makes C's position program the model of every event: each
    // re-run writes three position touches (A 0.4, B 0.2, C 0.4) → three rows per event,
    // but three events.
    let id = t.identify(&cc, "u").await;
    assert_eq!(id.status, 200, "{}", id.text);
    assert_eq!(id.body["firstStitch"], json!(true));
    assert_eq!(id.body["backfilledAttributions"], json!(3));

    // The rows and commissions written: the three last-click ones, then 3 × 3 position ones.
    let all = t.commissions("?limit=100").await;
    assert_eq!(all.len(), 12);
    assert_eq!(amounts(&all, &s.a), sorted(&["8.00", "16.00", "24.00"]));
    assert_eq!(
        amounts(&all, &s.b),
        sorted(&["20.00", "40.00", "60.00", "4.00", "8.00", "12.00"])
    );
    assert_eq!(amounts(&all, &s.c), sorted(&["8.00", "16.00", "24.00"]));
    let attributions: std::collections::HashSet<&str> = all
        .iter()
        .map(|c| c["attributionId"].as_str().unwrap())
        .collect();
    assert_eq!(attributions.len(), 12, "one commission per attribution row");

    // The same pair again: nothing re-run, nothing counted.
    let again = t.identify(&cc, "u").await;
    assert_eq!(
        again.body,
        json!({"ok": true, "identityId": null, "firstStitch": false, "backfilledAttributions": 0})
    );
    assert_eq!(t.commissions("?limit=100").await.len(), 12);
}

#[tokio::test]
async fn re_runs_that_end_already_attributed_count_zero() {
    let s = setup().await;
    let t = &s.t;
    let ca = t.click("link-a", &ts(0)).await;
    let cb = t.click("link-b", &ts(MIN)).await;
    for c in [&ca, &cb] {
        t.identify(c, "u").await;
    }
    // Two events before C's click (their re-run sees only A and B: last click, B's touch
    // exists → already_attributed) …
    stitched_events(&s, "u", &[100, 200], 1).await;
    let cc = t.click("link-c", &ts(5 * DAY)).await;
    // … and two after it (their re-run sees A, B, C: three new position touches each).
    stitched_events(&s, "u", &[300, 400], 6).await;

    let id = t.identify(&cc, "u").await;
    assert_eq!(id.status, 200, "{}", id.text);
    assert_eq!(id.body["firstStitch"], json!(true));
    assert_eq!(id.body["backfilledAttributions"], json!(2));

    let all = t.commissions("?limit=100").await;
    assert_eq!(all.len(), 4 + 2 * 3);
    assert_eq!(amounts(&all, &s.a), sorted(&["24.00", "32.00"]));
    assert_eq!(
        amounts(&all, &s.b),
        sorted(&["20.00", "40.00", "60.00", "80.00", "12.00", "16.00"])
    );
    assert_eq!(amounts(&all, &s.c), sorted(&["24.00", "32.00"]));
}
