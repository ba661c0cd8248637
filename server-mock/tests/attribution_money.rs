//! API.md §3.4 / §3.5 worked checks over raw HTTP.

mod attribution_support;

use attribution_support::{ts, DAY, MIN, T};
use serde_json::{json, Value};

#[tokio::test]
async fn twenty_percent_of_200_then_approve_then_payout_then_dashboard() {
    let t = T::new().await;
    let prog = t.program(json!({})).await;
    let p = t.partner("a@example.com").await;
    t.link(&p, &prog, "alpha").await;
    let now = chrono::Utc::now();
    let click_ts =
        (now - chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let ev_ts = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let c = t.click("alpha", &click_ts).await;
    let id = t.identify(&c, "u1").await;
    assert_eq!(id.status, 200, "{}", id.text);
    assert_eq!(id.body["firstStitch"], json!(true));
    assert_eq!(id.body["backfilledAttributions"], json!(0));
    assert!(id.body["identityId"].is_string());
    assert_eq!(id.headers["access-control-allow-origin"], "*");

    let r = t.track("u1", "sale", json!(200), &ev_ts).await;
    assert_eq!(r["ok"], json!(true));
    let a = &r["attribution"];
    assert_eq!(a["status"], "attributed");
    assert_eq!(a["model"], "last_click");
    let touches = a["touches"].as_array().unwrap();
    assert_eq!(touches.len(), 1);
    assert_eq!(touches[0]["clickId"], json!(c));
    assert_eq!(touches[0]["partnerId"], json!(p));
    assert_eq!(touches[0]["weight"].to_string(), "1");
    let cid = touches[0]["commissionId"].as_str().unwrap().to_owned();

    let list = t.commissions("").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["amount"], json!("40.00"));
    assert_eq!(list[0]["status"], json!("accrued"));
    assert_eq!(list[0]["currency"], json!("USD"));
    assert_eq!(list[0]["programId"], json!(prog));
    assert_eq!(list[0]["campaignName"], json!("Prog"));
    assert_eq!(list[0]["holdbackDays"], Value::Null);
    assert_eq!(list[0]["matureAt"], Value::Null);
    assert_eq!(list[0]["payoutId"], Value::Null);

    let ap = t
        .post(&format!("/commissions/{cid}/approve"), json!({}))
        .await;
    assert_eq!(ap.status, 200, "{}", ap.text);
    assert_eq!(ap.body["commission"]["status"], "approved");
    let again = t
        .post(&format!("/commissions/{cid}/approve"), json!({}))
        .await;
    assert_eq!(
        (again.status, again.body["error"].clone()),
        (409, json!("not_approvable"))
    );

    let run = t.post("/payouts/run", json!({})).await;
    assert_eq!(run.status, 200, "{}", run.text);
    assert_eq!(run.body["mode"], "selfhost");
    assert!(run.body["runId"].is_string());
    let payouts = run.body["payouts"].as_array().unwrap();
    assert_eq!(payouts.len(), 1);
    assert_eq!(payouts[0]["partnerId"], json!(p));
    assert!(payouts[0]["amount"].is_number(), "amount is a JSON number");
    assert_eq!(payouts[0]["amount"].to_string(), "40");
    assert_eq!(payouts[0]["method"], "manual");
    assert_eq!(payouts[0]["status"], "pending");
    let payout_id = payouts[0]["payoutId"].as_str().unwrap().to_owned();

    let list = t.commissions("").await;
    assert_eq!(list[0]["status"], "paid");
    assert_eq!(list[0]["payoutId"], json!(payout_id));
    assert!(list[0]["paidAt"].is_string());

    let pl = t.get(&format!("/partners/{p}/payouts")).await;
    assert_eq!(pl.status, 200);
    let row = &pl.body["payouts"][0];
    assert_eq!(row["amount"], json!("40.00"));
    assert_eq!(row["metadata"]["commissionCount"], json!(1));
    assert_eq!(row["metadata"]["runId"], run.body["runId"]);
    assert_eq!(row["completedAt"], Value::Null);

    let conf = t
        .post(&format!("/payouts/{payout_id}/confirm"), json!({}))
        .await;
    assert_eq!(conf.status, 200, "{}", conf.text);
    assert_eq!(conf.body["payout"]["status"], "paid");
    assert!(conf.body["payout"]["completedAt"].is_string());
    let conf2 = t
        .post(&format!("/payouts/{payout_id}/confirm"), json!({}))
        .await;
    assert_eq!(
        (conf2.status, conf2.body["error"].clone()),
        (409, json!("not_confirmable"))
    );
    let missing = t.post("/payouts/nope/confirm", json!({})).await;
    assert_eq!(
        (missing.status, missing.body["error"].clone()),
        (404, json!("payout_not_found"))
    );
    // a second run has nothing to pay
    let run2 = t.post("/payouts/run", json!({})).await;
    assert_eq!(run2.body["payouts"], json!([]));

    let d = t.get(&format!("/partners/{p}/dashboard")).await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.body["partnerId"], json!(p));
    assert_eq!(d.body["clicks"], json!(1));
    assert_eq!(d.body["attributedEvents"], json!(1));
    assert_eq!(d.body["attributedRevenue"].to_string(), "200");
    assert_eq!(d.body["commissionByStatus"], json!({"paid": 40}));

    // webhook outbox: attribution.created, commission.accrued, approved, payout.created, paid
    let types: Vec<String> = t
        .srv
        .state()
        .db
        .with_blocking(|c| {
            let mut st = c
                .prepare("SELECT event_type FROM outbox ORDER BY seq")
                .unwrap();
            st.query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        })
        .expect("db");
    let ours: Vec<&str> = types
        .iter()
        .map(String::as_str)
        .filter(|t| !t.starts_with("partner."))
        .collect();
    assert_eq!(
        ours,
        [
            "attribution.created",
            "commission.accrued",
            "commission.approved",
            "payout.created",
            "commission.paid"
        ]
    );
}

#[tokio::test]
async fn statuses_no_identity_no_click_outside_window_and_grace() {
    let t = T::new().await;
    let prog = t.program(json!({"attributionWindowDays": 7})).await;
    let p = t.partner("a@example.com").await;
    t.link(&p, &prog, "alpha").await;
    let r = t.track("ghost", "sale", json!(10), &ts(0)).await;
    assert_eq!(r["attribution"], json!({"status": "no_identity"}));

    let c = t.click("alpha", &ts(DAY)).await;
    t.identify(&c, "u").await;
    // exactly window + 1 ms → outside_window
    let r = t
        .track("u", "sale", json!(10), &ts(DAY + 7 * DAY + 1))
        .await;
    assert_eq!(r["attribution"], json!({"status": "outside_window"}));
    // exactly on the window boundary → attributed
    let r = t.track("u", "sale", json!(10), &ts(DAY + 7 * DAY)).await;
    assert_eq!(r["attribution"]["status"], "attributed");
    // 5 minutes before the click (grace) → attributed; 5 min + 1 ms → outside
    let r = t.track("u", "sale", json!(10), &ts(DAY - 5 * MIN)).await;
    assert_eq!(r["attribution"]["status"], "attributed");
    let r = t
        .track("u", "sale", json!(10), &ts(DAY - 5 * MIN - 1))
        .await;
    assert_eq!(r["attribution"]["status"], "outside_window");

    // flag the click → no_click
    let f = t.post(&format!("/clicks/{c}/flag"), json!({})).await;
    assert_eq!(f.body, json!({"ok": true, "clickId": c}));
    let r = t.track("u", "sale", json!(10), &ts(2 * DAY)).await;
    assert_eq!(r["attribution"], json!({"status": "no_click"}));
}

#[tokio::test]
async fn linear_two_partners_and_three_touch_revenue() {
    let t = T::new().await;
    let prog = t.program(json!({"attributionModel": "linear"})).await;
    let a = t.partner("a@example.com").await;
    let b = t.partner("b@example.com").await;
    t.link(&a, &prog, "link-a").await;
    t.link(&b, &prog, "link-b").await;
    let c1 = t.click("link-a", &ts(0)).await;
    let c2 = t.click("link-b", &ts(1000)).await;
    t.identify(&c1, "u").await;
    t.identify(&c2, "u").await;
    let r = t.track("u", "sale", json!(100), &ts(DAY)).await;
    let touches = r["attribution"]["touches"].as_array().unwrap();
    assert_eq!(r["attribution"]["model"], "linear");
    assert_eq!(touches.len(), 2);
    assert_eq!(touches[0]["partnerId"], json!(a));
    assert_eq!(touches[1]["partnerId"], json!(b));
    for x in touches {
        assert_eq!(x["weight"].to_string(), "0.5");
    }
    let mut amounts: Vec<Value> = t
        .commissions("")
        .await
        .iter()
        .map(|c| c["amount"].clone())
        .collect();
    amounts.sort_by_key(|v| v.to_string());
    assert_eq!(amounts, [json!("10.00"), json!("10.00")]);

    // three touches of one partner on a 300 event: revenue 299.97, commissions exact 1/3
    let prog3 = t.program(json!({"attributionModel": "linear", "commissionRule": {"type": "percent", "value": 10}})).await;
    let c = t.partner("c@example.com").await;
    t.link(&c, &prog3, "link-c").await;
    for i in 0..3 {
        let k = t.click("link-c", &ts(i * 1000)).await;
        t.identify(&k, "v").await;
    }
    let since = ts(-DAY);
    let r = t.track("v", "sale", json!(300), &ts(DAY)).await;
    let touches = r["attribution"]["touches"].as_array().unwrap();
    assert_eq!(touches.len(), 3);
    for x in touches {
        assert_eq!(x["weight"].to_string(), "0.3333");
    }
    let list = t.commissions(&format!("?partnerId={c}")).await;
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|x| x["amount"] == json!("10.00")));
    let d = t
        .get(&format!("/partners/{c}/dashboard?since={since}"))
        .await;
    assert_eq!(d.body["attributedRevenue"].to_string(), "299.97");
    assert_eq!(d.body["attributedEvents"], json!(1));
    let ev = t.get(&format!("/partners/{c}/events")).await;
    assert_eq!(ev.status, 200, "{}", ev.text);
    let rows = ev.body["events"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["weight"].to_string(), "0.3333");
    assert_eq!(rows[0]["value"].to_string(), "300");
    assert_eq!(rows[0]["userId"], "v");
    assert_eq!(rows[0]["click"]["linkKey"], "link-c");
    assert_eq!(ev.body["limit"], json!(50));
    assert_eq!(ev.body["offset"], json!(0));
    let cu = t.get(&format!("/partners/{c}/customers")).await;
    assert_eq!(cu.body["customers"][0]["userId"], "v");
    assert_eq!(cu.body["customers"][0]["eventCount"], json!(1));
    assert_eq!(cu.body["customers"][0]["revenue"].to_string(), "299.97");
    let ts_ = t
        .get(&format!(
            "/partners/{c}/timeseries?since={}&until={}",
            ts(0),
            ts(3 * DAY)
        ))
        .await;
    assert_eq!(ts_.status, 200, "{}", ts_.text);
    assert_eq!(ts_.body["bucket"], "day");
    let buckets = ts_.body["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 4);
    assert_eq!(buckets[0]["bucket"], "2026-01-01");
    assert_eq!(buckets[0]["clicks"], json!(3));
    assert_eq!(buckets[1]["sales"], json!(1));
    assert_eq!(buckets[1]["revenue"].to_string(), "299.97");
    assert_eq!(buckets[1]["earnings"].to_string(), "30");
}

async fn weights_for(
    t: &T,
    prog: &str,
    partner: &str,
    n: i64,
    user: &str,
    tag: &str,
) -> Vec<String> {
    for i in 0..n {
        let key = format!("key-{tag}{i}");
        t.link(partner, prog, &key).await;
        let c = t.click(&key, &ts(i * 1000)).await;
        t.identify(&c, user).await;
    }
    let r = t.track(user, "sale", json!(100), &ts(DAY)).await;
    r["attribution"]["touches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["weight"].to_string())
        .collect()
}

#[tokio::test]
async fn position_weights_n_1_2_3_5() {
    let t = T::new().await;
    let prog = t.program(json!({"attributionModel": "position"})).await;
    let p = t.partner("a@example.com").await;
    assert_eq!(weights_for(&t, &prog, &p, 1, "u1", "a").await, ["1"]);
    assert_eq!(
        weights_for(&t, &prog, &p, 2, "u2", "b").await,
        ["0.5", "0.5"]
    );
    assert_eq!(
        weights_for(&t, &prog, &p, 3, "u3", "c").await,
        ["0.4", "0.2", "0.4"]
    );
    assert_eq!(
        weights_for(&t, &prog, &p, 5, "u5", "d").await,
        ["0.4", "0.0667", "0.0667", "0.0667", "0.4"]
    );
    // amounts use the exact 1/15: 20 % of 100 = 20 → 20/15 = 1.333… → 1.33; 20 × .4 = 8
    let mut amounts: Vec<String> = t
        .commissions("")
        .await
        .iter()
        .map(|c| c["amount"].as_str().unwrap().to_owned())
        .collect();
    amounts.sort();
    assert_eq!(amounts.iter().filter(|a| *a == "1.33").count(), 3);
}

#[tokio::test]
async fn rounding_half_up_cases() {
    let t = T::new().await;
    // 0.05 × 0.5 → 0.03 (fixed 0.05 split over two clicks)
    let prog = t
        .program(json!({"attributionModel": "linear", "commissionRule": {"type": "fixed", "value": 0.05}}))
        .await;
    let p = t.partner("a@example.com").await;
    t.link(&p, &prog, "link-a").await;
    t.link(&p, &prog, "link-b").await;
    let c1 = t.click("link-a", &ts(0)).await;
    let c2 = t.click("link-b", &ts(1)).await;
    t.identify(&c1, "u").await;
    t.identify(&c2, "u").await;
    t.track("u", "sale", json!(1), &ts(DAY)).await;
    let list = t.commissions("").await;
    assert_eq!(list.len(), 2);
    assert!(
        list.iter().all(|c| c["amount"] == json!("0.03")),
        "{list:?}"
    );

    // 50 % of 0.29 → 0.15
    let prog2 = t
        .program(json!({"commissionRule": {"type": "percent", "value": 50}}))
        .await;
    let q = t.partner("b@example.com").await;
    t.link(&q, &prog2, "link-q").await;
    let c = t.click("link-q", &ts(0)).await;
    t.identify(&c, "w").await;
    t.track("w", "sale", json!(0.29), &ts(DAY)).await;
    let list = t.commissions(&format!("?partnerId={q}")).await;
    assert_eq!(list[0]["amount"], json!("0.15"));
    // the stored value is rounded half-up to cents (10.005 → 10.01)
    t.track("w", "sale", json!(10.005), &ts(DAY)).await;
    let exp = t.get("/export/Event.json").await;
    let values: Vec<&str> = exp
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert!(values.contains(&"10.01"), "{values:?}");
}

#[tokio::test]
async fn first_subsequent_recurring_months_and_date_gate() {
    let t = T::new().await;
    let prog = t
        .program(json!({
            "attributionWindowDays": 365,
            "commissionRule": [
                {"trigger": "first", "eventType": "sale", "type": "fixed", "value": 10},
                {"trigger": "subsequent", "eventType": "sale", "type": "fixed", "value": 1,
                 "recurring": true, "recurringMonths": 1}
            ]
        }))
        .await;
    let p = t.partner("a@example.com").await;
    t.link(&p, &prog, "link-a").await;
    let c = t.click("link-a", &ts(0)).await;
    t.identify(&c, "u").await;
    let month = 2_629_800_000i64;
    t.track("u", "sale", json!(5), &ts(1000)).await; // first → 10
    t.track("u", "sale", json!(5), &ts(2000)).await; // subsequent → 1
    t.track("u", "sale", json!(5), &ts(1000 + month)).await; // boundary → 1
    t.track("u", "sale", json!(5), &ts(1000 + month + 1)).await; // past → none
    t.track("u", "signup", json!(5), &ts(3000)).await; // other type → none
    let mut amounts: Vec<String> = t
        .commissions("")
        .await
        .iter()
        .map(|c| c["amount"].as_str().unwrap().to_owned())
        .collect();
    amounts.sort();
    assert_eq!(amounts, ["1.00", "1.00", "10.00"]);

    // date gate: attribution recorded, no commission outside [startsAt, endsAt)
    let gated = t
        .program(json!({"startsAt": ts(10 * DAY), "endsAt": ts(20 * DAY), "commissionRule": {"type": "fixed", "value": 3}}))
        .await;
    let q = t.partner("b@example.com").await;
    let link = t
        .post(
            &format!("/partners/{q}/links"),
            json!({"linkKey": "link-q", "programId": gated}),
        )
        .await;
    // the program ended long before "now" → the link cannot be created
    assert_eq!(
        (link.status, link.body["error"].clone()),
        (409, json!("campaign_not_active"))
    );
    let patched = t
        .req(
            reqwest::Method::PATCH,
            &format!("/programs/{gated}"),
            Some(attribution_support::ADMIN),
            Some(json!({"endsAt": null})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["endsAt"], Value::Null);
    t.link(&q, &gated, "link-q").await;
    t.req(
        reqwest::Method::PATCH,
        &format!("/programs/{gated}"),
        Some(attribution_support::ADMIN),
        Some(json!({"endsAt": ts(20 * DAY)})),
    )
    .await;
    let k = t.click("link-q", &ts(9 * DAY)).await;
    t.identify(&k, "g").await;
    let before = t.track("g", "sale", json!(1), &ts(10 * DAY - 1)).await;
    assert_eq!(before["attribution"]["status"], "attributed");
    assert!(before["attribution"]["touches"][0]
        .get("commissionId")
        .is_none());
    let at_start = t.track("g", "sale", json!(1), &ts(10 * DAY)).await;
    assert!(at_start["attribution"]["touches"][0]["commissionId"].is_string());
    let at_end = t.track("g", "sale", json!(1), &ts(20 * DAY)).await;
    assert!(at_end["attribution"]["touches"][0]
        .get("commissionId")
        .is_none());
}

#[tokio::test]
async fn holdback_blocks_approve_until_mature() {
    let t = T::new().await;
    let prog = t.program(json!({"holdbackDays": 14})).await;
    let p = t.partner("a@example.com").await;
    t.link(&p, &prog, "link-a").await;
    let c = t.click("link-a", &ts(0)).await;
    t.identify(&c, "u").await;
    let r = t.track("u", "sale", json!(50), &ts(DAY)).await;
    let cid = r["attribution"]["touches"][0]["commissionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = t.commissions("").await;
    assert_eq!(list[0]["holdbackDays"], json!(14));
    let mature = list[0]["matureAt"].as_str().unwrap().to_owned();
    let ap = t
        .post(&format!("/commissions/{cid}/approve"), json!({}))
        .await;
    assert_eq!(ap.status, 409);
    assert_eq!(ap.body["error"], "holdback_active");
    assert_eq!(ap.body["matureAt"], json!(mature));
    assert_eq!(ap.body["holdbackDays"], json!(14));
    assert!(ap.body["detail"].is_string());
    t.srv
        .clock()
        .advance(std::time::Duration::from_secs(14 * 86_400 + 5));
    let ap = t
        .post(&format!("/commissions/{cid}/approve"), json!({}))
        .await;
    assert_eq!(ap.status, 200, "{}", ap.text);
    // reverse an approved one; reversing again is refused
    let rv = t
        .post(&format!("/commissions/{cid}/reverse"), json!({}))
        .await;
    assert_eq!(rv.body["commission"]["status"], "reversed");
    let rv = t
        .post(&format!("/commissions/{cid}/reverse"), json!({}))
        .await;
    assert_eq!(
        (rv.status, rv.body["error"].clone()),
        (409, json!("not_reversible"))
    );
    let nf = t.post("/commissions/nope/approve", json!({})).await;
    assert_eq!(
        (nf.status, nf.body["error"].clone()),
        (404, json!("not_found"))
    );
}

#[tokio::test]
async fn snapshot_overrides_program_rules() {
    let t = T::new().await;
    let prog = t.program(json!({})).await;
    let p = t.partner("a@example.com").await;
    let put = t
        .req(
            reqwest::Method::PUT,
            &format!("/partners/{p}/commission-snapshot"),
            Some(attribution_support::ADMIN),
            Some(json!({"commissionType": "fixed", "commissionValue": 7.5, "holdbackDays": 3})),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let s = &put.body["snapshot"];
    assert_eq!(s["commissionValue"], json!("7.5"));
    assert_eq!(s["source"], "amendment");
    assert_eq!(s["commissionRules"], Value::Null);
    assert_eq!(s["holdbackDays"], json!(3));
    t.link(&p, &prog, "link-a").await;
    let c = t.click("link-a", &ts(0)).await;
    t.identify(&c, "u").await;
    t.track("u", "sale", json!(1000), &ts(DAY)).await;
    let list = t.commissions("").await;
    assert_eq!(list[0]["amount"], json!("7.50"));
    assert_eq!(list[0]["holdbackDays"], json!(3));
    let del = t
        .req(
            reqwest::Method::DELETE,
            &format!("/partners/{p}/commission-snapshot"),
            Some(attribution_support::ADMIN),
            None,
        )
        .await;
    assert_eq!(del.body, json!({"ok": true}));
    let g = t.get(&format!("/partners/{p}/commission-snapshot")).await;
    assert_eq!(g.body, json!({"snapshot": null}));
}

#[tokio::test]
async fn identify_backfill_and_unflag_without_double_counting() {
    let t = T::new().await;
    let prog = t.program(json!({"attributionModel": "linear"})).await;
    let p = t.partner("a@example.com").await;
    let q = t.partner("b@example.com").await;
    t.link(&p, &prog, "link-a").await;
    t.link(&q, &prog, "link-b").await;
    let ca = t.click("link-a", &ts(0)).await;
    // events before any identity → no_identity
    t.track("u", "sale", json!(100), &ts(DAY)).await;
    t.track("u", "sale", json!(50), &ts(2 * DAY)).await;
    let id = t.identify(&ca, "u").await;
    assert_eq!(id.body["firstStitch"], json!(true));
    assert_eq!(id.body["backfilledAttributions"], json!(2));
    // same pair again → nothing
    let again = t.identify(&ca, "u").await;
    assert_eq!(
        again.body,
        json!({"ok": true, "identityId": null, "firstStitch": false, "backfilledAttributions": 0})
    );
    let list = t.commissions("").await;
    assert_eq!(list.len(), 2);

    // a flagged click of another partner, then stitched: no change
    let cb = t.click("link-b", &ts(1000)).await;
    t.post(&format!("/clicks/{cb}/flag"), json!({})).await;
    let f2 = t.post(&format!("/clicks/{cb}/flag"), json!({})).await;
    assert_eq!(
        (f2.status, f2.body["error"].clone(), f2.body["flag"].clone()),
        (409, json!("already_flagged"), json!("manual"))
    );
    let id = t.identify(&cb, "u").await;
    assert_eq!(id.body["backfilledAttributions"], json!(0));
    let flagged = t.get("/admin/clicks/flagged?reason=manual").await;
    assert_eq!(flagged.body["clicks"][0]["id"], json!(cb));
    assert_eq!(
        flagged.body["clicks"][0]["partnerName"],
        json!("b@example.com")
    );
    assert_eq!(flagged.body["clicks"][0]["linkKey"], json!("link-b"));

    // approve the commission of the 100 event: that event is settled and must survive the
    // re-run untouched (never re-split, never paid twice)
    let approved_id = list
        .iter()
        .find(|c| c["amount"] == json!("20.00"))
        .and_then(|c| c["id"].as_str())
        .unwrap()
        .to_owned();
    t.post(&format!("/commissions/{approved_id}/approve"), json!({}))
        .await;

    // unflag: the unsettled 50 event is now split 50/50 between a and b
    let un = t.post(&format!("/clicks/{cb}/unflag"), json!({})).await;
    assert_eq!(un.status, 200, "{}", un.text);
    assert_eq!(un.body["clickId"], json!(cb));
    assert_eq!(un.body["reattributedEvents"], json!(1));
    let un2 = t.post(&format!("/clicks/{cb}/unflag"), json!({})).await;
    assert_eq!(
        (un2.status, un2.body["error"].clone()),
        (409, json!("not_flagged"))
    );
    let nf = t.post("/clicks/nope/unflag", json!({})).await;
    assert_eq!(
        (nf.status, nf.body["error"].clone()),
        (404, json!("click_not_found"))
    );

    let all = t.commissions("").await;
    let amounts = |pid: &str| -> Vec<String> {
        let mut v: Vec<String> = all
            .iter()
            .filter(|c| c["partnerId"] == json!(pid))
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
    };
    assert_eq!(amounts(&p), ["20.00:approved", "5.00:accrued"]);
    assert_eq!(amounts(&q), ["5.00:accrued"]);
    // unflagging again later would not double anything either: re-running an event whose
    // attributions exist is already_attributed
    let attrs: std::collections::HashSet<&str> = all
        .iter()
        .map(|c| c["attributionId"].as_str().unwrap())
        .collect();
    assert_eq!(attrs.len(), all.len());
}
