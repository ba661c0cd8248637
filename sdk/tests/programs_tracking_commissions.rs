//! Programs, grants, snapshots, links, clicks, identify, events, commissions (incl. the
//! API.md §6 fallback), payouts, analytics and export handlers against wiremock.

mod common;

use std::str::FromStr;

use common::*;
use futures::{StreamExt, TryStreamExt};
use openpartner::types::*;
use openpartner::{Error, ExportFormat, ExportTable};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;
use wiremock::matchers::query_param;
use wiremock::ResponseTemplate;

fn program_json() -> serde_json::Value {
    json!({"id":"g1","tenantId":"t","name":"Main","commissionRule":[{"trigger":"every","type":"percent","value":20}],
        "attributionWindowDays":60,"attributionModel":"last_click","destinationUrl":"https://shop.example",
        "deepLinkAllowedDomains":null,"holdbackDays":null,"startsAt":null,"endsAt":null,"createdAt":"2026-11-20T10:30:00.000Z"})
}

/// A 12.00 USD row.
fn commission_json(id: &str, accrued: &str, program: &str, partner: &str) -> serde_json::Value {
    commission_row(id, accrued, program, partner, "12.00")
}

fn raw_body(r: &wiremock::Request) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

#[tokio::test]
async fn programs_create_update_list() {
    let server = common::server().await;
    mount(&server, "POST", "/programs", echo(201, program_json())).await;
    mount(&server, "PATCH", "/programs/g1", echo(200, program_json())).await;
    mount(
        &server,
        "GET",
        "/programs",
        echo(200, json!({"programs":[program_json()]})),
    )
    .await;
    mount(&server, "GET", "/me/programs", echo(200, json!({"programs":[{"id":"g1","name":"Main","destinationUrl":"https://shop.example","deepLinkAllowedDomains":"example.com","startsAt":null,"endsAt":null}]}))).await;
    let c = client(&server);
    let rule = SubRule {
        trigger: Trigger::First,
        event_type: Some("sale".into()),
        kind: RuleType::Fixed,
        value: dec!(5.50),
        currency: Some("EUR".into()),
        recurring: Some(true),
        recurring_months: Some(12),
    };
    let p = c
        .programs()
        .create(
            "Main",
            vec![SubRule::every(RuleType::Percent, dec!(20)), rule],
            "https://shop.example",
        )
        .attribution_model(AttributionModel::Linear)
        .attribution_window_days(30)
        .holdback_days(Some(14))
        .starts_at(Some("2026-11-01T00:00:00Z".parse().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(p.commission_rule[0].value, dec!(20));
    assert_eq!(p.attribution_model, AttributionModel::LastClick);
    c.programs()
        .update("g1")
        .commission_rule(LegacyRule {
            kind: RuleType::Percent,
            value: dec!(12.5),
            currency: None,
            recurring: None,
        })
        .send()
        .await
        .unwrap();
    assert_eq!(c.programs().list().await.unwrap().len(), 1);
    assert_eq!(
        c.programs().me_programs().await.unwrap()[0]
            .deep_link_allowed_domains
            .as_deref(),
        Some("example.com")
    );
    let reqs = requests(&server).await;
    // Built from text: the json! macro would pass 5.50 through f64.
    let want: serde_json::Value = serde_json::from_str(
        r#"{"name":"Main","destinationUrl":"https://shop.example","attributionModel":"linear","attributionWindowDays":30,
            "holdbackDays":14,"startsAt":"2026-11-01T00:00:00.000Z",
            "commissionRule":[{"trigger":"every","type":"percent","value":20},
                {"trigger":"first","eventType":"sale","type":"fixed","value":5.50,"currency":"EUR","recurring":true,"recurringMonths":12}]}"#,
    )
    .unwrap();
    assert_eq!(body_json(&reqs[0]), want);
    assert!(
        raw_body(&reqs[0]).contains("\"value\":5.50"),
        "money as JSON number: {}",
        raw_body(&reqs[0])
    );
    assert_eq!(
        body_json(&reqs[1]),
        json!({"commissionRule":{"type":"percent","value":12.5}})
    );
    assert_eq!(reqs[1].method.as_str(), "PATCH");
}

#[tokio::test]
async fn grants_and_snapshots() {
    let server = common::server().await;
    mount(&server, "GET", "/partners/p1/campaigns", echo(200, json!({"campaigns":[{"id":"g1","name":"Main","destinationUrl":"https://x","deepLinkAllowedDomains":null,"granted":true,"grantSource":"all","grantedAt":"2026-11-20T10:30:00.000Z"}]}))).await;
    mount(
        &server,
        "POST",
        "/partners/p1/campaigns",
        echo(201, json!({"added":["g2"]})),
    )
    .await;
    mount(
        &server,
        "DELETE",
        "/partners/p1/programs/g2",
        echo(200, json!({"ok":true})),
    )
    .await;
    mount(
        &server,
        "GET",
        "/partners/p1/commission-snapshot",
        echo(200, json!({"snapshot":null})),
    )
    .await;
    mount(&server, "PUT", "/partners/p1/commission-snapshot", echo(200, json!({"snapshot":{"partnerId":"p1","commissionType":"percent","commissionValue":"25.00","recurring":false,
            "commissionRules":null,"holdbackDays":null,"source":"amendment","snapshottedAt":"2026-11-20T10:30:00.000Z"}}))).await;
    mount(
        &server,
        "DELETE",
        "/partners/p1/commission-snapshot",
        echo(200, json!({"ok":true})),
    )
    .await;
    let c = client(&server);
    let parts = c.partners();
    assert!(parts.campaigns("p1").await.unwrap()[0].granted);
    assert_eq!(
        parts.grant_programs("p1", vec!["g2".into()]).await.unwrap(),
        vec![json!("g2")]
    );
    parts.revoke_program("p1", "g2").await.unwrap();
    assert_eq!(parts.commission_snapshot("p1").await.unwrap(), None);
    let input = SnapshotInput {
        commission_type: RuleType::Percent,
        commission_value: dec!(25),
        recurring: None,
        holdback_days: Some(None),
        commission_rules: None,
    };
    let snap = parts.set_commission_snapshot("p1", &input).await.unwrap();
    assert_eq!(snap.commission_value, dec!(25.00));
    assert_eq!(snap.commission_value.to_string(), "25.00");
    parts.delete_commission_snapshot("p1").await.unwrap();
    let reqs = requests(&server).await;
    assert_eq!(body_json(&reqs[1]), json!({"programIds":["g2"]}));
    assert_eq!(
        raw_body(&reqs[4]),
        r#"{"commissionType":"percent","commissionValue":25,"holdbackDays":null}"#
    );
    assert_eq!(reqs[5].method.as_str(), "DELETE");
}

#[tokio::test]
async fn links_clicks_identify() {
    let server = common::server().await;
    let link = json!({"id":"l1","tenantId":"t","linkKey":"ada-main","partnerId":"p1","programId":"g1","destinationUrl":null,"createdAt":"2026-11-20T10:30:00.000Z"});
    mount(
        &server,
        "GET",
        "/t/acme/partners/p1/links",
        echo(200, json!({"links":[link.clone()]})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/t/acme/partners/p1/links",
        echo(201, link),
    )
    .await;
    mount(
        &server,
        "POST",
        "/t/acme/clicks",
        echo(
            200,
            json!({"ok":true,"id":"click-0000000000000000001","replayed":true}),
        ),
    )
    .await;
    mount(
        &server,
        "POST",
        "/t/acme/clicks/c1/flag",
        echo(200, json!({"ok":true,"clickId":"c1"})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/t/acme/clicks/c1/unflag",
        echo(
            200,
            json!({"ok":true,"clickId":"c1","reattributedEvents":3}),
        ),
    )
    .await;
    mount(&server, "GET", "/t/acme/admin/clicks/flagged", echo(200, json!({"clicks":[{"id":"c1","fraudFlag":"velocity","ts":"2026-11-20T10:30:00.000Z","ipHash":null,"userAgent":null,"referer":null,"landingUrl":"https://x","partnerId":"p1","partnerName":"Ada","linkId":"l1","linkKey":"ada-main"}]}))).await;
    mount(
        &server,
        "POST",
        "/t/acme/attribution/identify",
        echo(
            200,
            json!({"ok":true,"identityId":"i1","firstStitch":true,"backfilledAttributions":2}),
        ),
    )
    .await;
    let c = tenant_client(&server, "acme");
    assert_eq!(c.links().list("p1").await.unwrap()[0].link_key, "ada-main");
    c.links()
        .create("p1", "ada-main", "g1")
        .destination_url("https://shop.example/x")
        .send()
        .await
        .unwrap();
    let click = RecordClick {
        id: "click-0000000000000000001".into(),
        link_key: "ada-main".into(),
        landing_url: "https://shop.example/?cref=x".into(),
        ip_hash: None,
        user_agent: Some("UA".into()),
        referer: None,
        fraud_flag: None,
        ts: "2026-11-20T10:30:00Z".parse().unwrap(),
    };
    let recorded = c.clicks().record(&click).send().await.unwrap();
    assert!(
        recorded.replayed,
        "the body says the click id was already recorded"
    );
    assert!(!recorded.meta.replayed, "no Idempotent-Replayed header");
    assert_eq!(c.clicks().flag("c1").await.unwrap().click_id, "c1");
    assert_eq!(
        c.clicks().unflag("c1").await.unwrap().reattributed_events,
        3
    );
    let flagged = c
        .clicks()
        .flagged()
        .limit(10)
        .reason(FraudFlag::Velocity)
        .send()
        .await
        .unwrap();
    assert_eq!(flagged[0].fraud_flag, FraudFlag::Velocity);
    let id = c
        .identify("click-0000000000000000001", "user-1")
        .await
        .unwrap();
    assert!(id.first_stitch);
    assert_eq!(id.backfilled_attributions, 2);
    let reqs = requests(&server).await;
    assert_eq!(
        body_json(&reqs[1]),
        json!({"linkKey":"ada-main","programId":"g1","destinationUrl":"https://shop.example/x"})
    );
    assert_eq!(
        body_json(&reqs[2]),
        json!({"id":"click-0000000000000000001","linkKey":"ada-main","landingUrl":"https://shop.example/?cref=x","userAgent":"UA","ts":"2026-11-20T10:30:00.000Z"})
    );
    assert_eq!(reqs[5].url.query(), Some("limit=10&reason=velocity"));
    assert_eq!(
        body_json(&reqs[6]),
        json!({"cref":"click-0000000000000000001","userId":"user-1"})
    );
    assert!(
        header(&reqs[6], "authorization").is_none(),
        "identify sends no credentials"
    );
}

#[tokio::test]
async fn track_event_money_is_exact() {
    let server = common::server().await;
    route("POST", "/attribution/events").respond_with(echo(200, json!({"ok":true,"eventId":"e1","attribution":{"status":"attributed","model":"linear","touches":[
            {"clickId":"c1","partnerId":"p1","weight":0.3333,"attributionId":"a1","commissionId":"m1"},
            {"clickId":"c2","partnerId":"p2","weight":0.3333,"attributionId":"a2"}]}}))).up_to_n_times(1).mount(&server).await;
    mount(
        &server,
        "POST",
        "/attribution/events",
        echo(
            200,
            json!({"ok":true,"eventId":"e2","attribution":{"status":"something_new"}}),
        ),
    )
    .await;
    let c = client(&server);
    let ev = TrackEvent::new("user-1", "sale")
        .value(Decimal::from_str("12.345678901234567890").unwrap())
        .currency("EUR")
        .metadata(json!({"order":"o-1"}))
        .ts("2026-11-20T10:30:00.5Z".parse().unwrap());
    let r = c
        .events()
        .track(&ev)
        .idempotency_key("order-o-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.attribution.status, AttributionStatus::Attributed);
    assert_eq!(r.attribution.model, Some(AttributionModel::Linear));
    assert_eq!(r.attribution.touches[0].weight, dec!(0.3333));
    assert_eq!(
        r.attribution.touches[0].commission_id.as_deref(),
        Some("m1")
    );
    assert_eq!(r.attribution.touches[1].commission_id, None);
    let r2 = c
        .events()
        .track(TrackEvent::new("u", "lead"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r2.attribution.status,
        AttributionStatus::Unknown("something_new".into())
    );
    let reqs = requests(&server).await;
    assert_eq!(
        raw_body(&reqs[0]),
        r#"{"userId":"user-1","type":"sale","value":12.345678901234567890,"currency":"EUR","metadata":{"order":"o-1"},"ts":"2026-11-20T10:30:00.500Z"}"#
    );
    assert_eq!(header(&reqs[0], "idempotency-key"), Some("order-o-1"));
    assert_eq!(raw_body(&reqs[1]), r#"{"userId":"u","type":"lead"}"#);
}

#[tokio::test]
async fn track_reports_idempotent_replays_and_the_request_id() {
    let server = common::server().await;
    let body = json!({"ok":true,"eventId":"e1","attribution":{"status":"no_identity"}});
    route("POST", "/attribution/events")
        .respond_with(ResponseTemplate::new(200).set_body_json(body.clone()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount(
        &server,
        "POST",
        "/attribution/events",
        ResponseTemplate::new(200)
            .set_body_json(body)
            .insert_header("Idempotent-Replayed", "true"),
    )
    .await;
    let c = client(&server);
    let ev = TrackEvent::new("u", "sale").value(dec!(9.99));
    let track = || c.events().track(&ev).idempotency_key("line-1").send();
    let first = track().await.unwrap();
    assert!(!first.meta.replayed);
    assert_eq!(first.data.event_id, "e1");
    let again = track().await.unwrap();
    assert!(again.meta.replayed);
    assert_eq!(again.event_id, "e1", "derefs to the body");
    let reqs = requests(&server).await;
    // No X-Request-Id echoed: the meta carries the one the SDK sent.
    assert_eq!(
        again.meta.request_id.as_deref(),
        header(&reqs[1], "x-request-id")
    );
    assert_eq!(header(&reqs[0], "idempotency-key"), Some("line-1"));
    assert_eq!(header(&reqs[1], "idempotency-key"), Some("line-1"));
}

#[tokio::test]
async fn commissions_with_filters_extension_paginate() {
    let server = common::server().await;
    let ext = "commission-filters, idempotency";
    mount_expect(
        &server,
        "GET",
        "/health",
        1,
        echo_ext(200, json!({"ok":true}), ext),
    )
    .await;
    route("GET", "/commissions").and(query_param("cursor", "n1")).respond_with(echo_ext(200, json!({"commissions":[commission_json("m3","2026-11-18T00:00:00.000Z","g1","p1")],"nextCursor":null}), ext)).with_priority(1).mount(&server).await;
    route("GET", "/commissions").respond_with(echo_ext(200, json!({"commissions":[commission_json("m1","2026-11-20T00:00:00.000Z","g1","p1"),commission_json("m2","2026-11-19T00:00:00.000Z","g1","p1")],"nextCursor":"n1"}), ext)).with_priority(5).mount(&server).await;
    let c = client(&server);
    let mut s = c
        .commissions()
        .list()
        .status(CommissionStatus::Accrued)
        .since("2026-11-01T00:00:00Z".parse().unwrap())
        .until("2026-11-30T00:00:00Z".parse().unwrap())
        .program_id("g1")
        .partner_id("p1")
        .page_size(2)
        .stream();
    let mut got = Vec::new();
    while let Some(cm) = s.next().await {
        got.push(cm.unwrap());
    }
    assert!(!s.possibly_truncated());
    assert_eq!(
        got.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["m1", "m2", "m3"]
    );
    assert_eq!(got[0].amount, dec!(12.00));
    assert_eq!(got[0].amount.to_string(), "12.00");
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 3, "health + 2 pages");
    assert_eq!(reqs[0].url.path(), "/health");
    let q1 = "status=accrued&limit=2&since=2026-11-01T00%3A00%3A00.000Z&until=2026-11-30T00%3A00%3A00.000Z&programId=g1&partnerId=p1";
    assert_eq!(reqs[1].url.query(), Some(q1));
    assert_eq!(
        reqs[2].url.query(),
        Some(format!("{q1}&cursor=n1").as_str())
    );
}

#[tokio::test]
async fn commissions_fallback_without_extension() {
    let server = common::server().await;
    mount_expect(&server, "GET", "/health", 1, echo(200, json!({"ok":true}))).await;
    mount(
        &server,
        "GET",
        "/partners/p1/commissions",
        echo(
            200,
            json!({"commissions":[
            commission_json("m1","2026-11-20T00:00:00.000Z","g1","p1"),
            commission_json("m2","2026-11-10T00:00:00.000Z","g2","p1"),
            commission_json("m3","2026-10-01T00:00:00.000Z","g1","p1")]}),
        ),
    )
    .await;
    let c = client(&server);
    let list = || {
        c.commissions()
            .list()
            .status("accrued")
            .partner_id("p1")
            .program_id("g1")
            .since("2026-11-01T00:00:00Z".parse().unwrap())
            .page_size(3)
    };
    let mut s = list().stream();
    let mut got = Vec::new();
    while let Some(cm) = s.try_next().await.unwrap() {
        got.push(cm.id);
    }
    assert_eq!(got, ["m1"], "since and programId applied client-side");
    assert!(
        s.possibly_truncated(),
        "the single page came back full (3 of 3)"
    );
    let page = list().page_size(5).send().await.unwrap();
    assert!(!page.possibly_truncated);
    assert_eq!(page.next_cursor, None);
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 3, "one /health, then one request per listing");
    assert_eq!(reqs[1].url.query(), Some("status=accrued&limit=3"));
    assert_eq!(reqs[2].url.query(), Some("status=accrued&limit=5"));
}

#[tokio::test]
async fn approve_reverse_and_payouts() {
    let server = common::server().await;
    let mut approved = commission_json("m1", "2026-11-20T00:00:00.000Z", "g1", "p1");
    approved["status"] = json!("approved");
    mount(
        &server,
        "POST",
        "/commissions/m1/approve",
        echo(200, json!({"commission":approved})),
    )
    .await;
    mount(&server, "POST", "/commissions/m2/approve", echo(409, json!({"error":"holdback_active","detail":"not mature","matureAt":"2026-12-01T00:00:00.000Z","holdbackDays":14}))).await;
    let mut reversed = commission_json("m3", "2026-11-20T00:00:00.000Z", "g1", "p1");
    reversed["status"] = json!("reversed");
    mount(
        &server,
        "POST",
        "/commissions/m3/reverse",
        echo(200, json!({"commission":reversed})),
    )
    .await;
    mount(&server, "POST", "/payouts/run", echo(200, json!({"runId":"r1","mode":"selfhost","payouts":[{"payoutId":"po1","partnerId":"p1","amount":299.97,"currency":"USD","method":"manual","status":"pending"}]}))).await;
    let payout = json!({"id":"po1","tenantId":"t","partnerId":"p1","amount":"299.97","currency":"USD","method":"manual","status":"paid",
        "metadata":{"runId":"r1","commissionCount":3},"createdAt":"2026-11-20T10:30:00.000Z","completedAt":"2026-11-21T10:30:00.000Z"});
    mount(
        &server,
        "POST",
        "/payouts/po1/confirm",
        echo(200, json!({"payout":payout.clone()})),
    )
    .await;
    mount(
        &server,
        "GET",
        "/partners/p1/payouts",
        echo(200, json!({"payouts":[payout]})),
    )
    .await;
    let c = client(&server);
    assert_eq!(
        c.commissions().approve("m1").await.unwrap().status,
        CommissionStatus::Approved
    );
    let err = c.commissions().approve("m2").await.unwrap_err();
    match &err {
        Error::Api {
            status: 409,
            code,
            body,
            ..
        } => {
            assert_eq!(code, "holdback_active");
            assert_eq!(body["holdbackDays"], 14);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.commissions().reverse("m3").await.unwrap().status,
        CommissionStatus::Reversed
    );
    let run = c.payouts().run().await.unwrap();
    assert_eq!(run.payouts[0].amount, dec!(299.97));
    assert_eq!(
        serde_json::to_string(&run.payouts[0].amount.to_string()).unwrap(),
        "\"299.97\""
    );
    let confirmed = c.payouts().confirm("po1").await.unwrap();
    assert_eq!(confirmed.status, PayoutStatus::Paid);
    let list = c.payouts().list_for_partner("p1").await.unwrap();
    assert_eq!(list[0].amount, dec!(299.97));
    // Wire forms survive a round trip: payout-run amount is a number, payout row amount a string.
    let run_json = serde_json::to_string(&run.payouts[0]).unwrap();
    assert!(run_json.contains("\"amount\":299.97"), "{run_json}");
    let row_json = serde_json::to_string(&list[0]).unwrap();
    assert!(row_json.contains("\"amount\":\"299.97\""), "{row_json}");
}

#[tokio::test]
async fn analytics_and_offset_pagination() {
    let server = common::server().await;
    mount(&server, "GET", "/partners/p1/dashboard", echo(200, json!({"partnerId":"p1","since":"2026-10-21T00:00:00.000Z","clicks":10,"attributedEvents":3,
            "attributedRevenue":299.97,"commissionByStatus":{"accrued":59.99,"paid":0.1}}))).await;
    mount(&server, "GET", "/partners/p1/timeseries", echo(200, json!({"partnerId":"p1","since":"2026-11-01T00:00:00.000Z","until":"2026-11-03T00:00:00.000Z","bucket":"day",
            "buckets":[{"bucket":"2026-11-01","clicks":1,"leads":0,"sales":1,"revenue":100.5,"earnings":20.1}]}))).await;
    let ev = |id: &str| {
        json!({"attributionId":id,"weight":0.5,"model":"position","eventId":"e","type":"sale","value":100.10,
        "currency":"USD","ts":"2026-11-20T10:30:00.000Z","userId":"u","click":{"id":"c","linkKey":"k","referer":null,"landingUrl":null,"ts":"2026-11-20T10:00:00.000Z"}})
    };
    for (offset, ids) in [
        ("0", vec!["a1", "a2"]),
        ("2", vec!["a3", "a4"]),
        ("4", vec!["a5"]),
    ] {
        let events: Vec<_> = ids.iter().map(|i| ev(i)).collect();
        route("GET", "/partners/p1/events").and(query_param("offset", offset)).respond_with(echo(200, json!({"partnerId":"p1","events":events,"limit":2,"offset":offset.parse::<u64>().unwrap()}))).mount(&server).await;
    }
    mount(&server, "GET", "/partners/p1/customers", echo(
            200,
            // From text: the json! macro would pass the number through f64.
            serde_json::from_str(r#"{"partnerId":"p1","customers":[{"userId":"u","firstEventAt":"2026-11-01T00:00:00.000Z","lastEventAt":"2026-11-20T00:00:00.000Z","eventCount":4,"revenue":12.345678901234567890}],"limit":50,"offset":0}"#).unwrap(),
        )).await;
    let c = client(&server);
    let d = c
        .partners()
        .dashboard("p1")
        .since("2026-10-21T00:00:00Z".parse().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(d.attributed_revenue, dec!(299.97));
    assert_eq!(d.commission_by_status.accrued, Some(dec!(59.99)));
    assert_eq!(d.commission_by_status.paid, Some(dec!(0.1)));
    assert_eq!(d.commission_by_status.approved, None);
    let t = c
        .partners()
        .timeseries("p1")
        .bucket("day")
        .program_id("g1")
        .send()
        .await
        .unwrap();
    assert_eq!(t.buckets[0].earnings, dec!(20.1));
    let events: Vec<_> = c
        .partners()
        .events("p1")
        .kind("sale")
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e.attribution_id.as_str())
            .collect::<Vec<_>>(),
        ["a1", "a2", "a3", "a4", "a5"]
    );
    assert_eq!(events[0].value, Some(dec!(100.10)));
    assert_eq!(events[0].weight, dec!(0.5));
    let customers = c.partners().customers("p1").send().await.unwrap();
    assert_eq!(
        customers.items[0].revenue,
        Decimal::from_str("12.345678901234567890").unwrap()
    );
    let reqs = requests(&server).await;
    assert_eq!(
        reqs[0].url.query(),
        Some("since=2026-10-21T00%3A00%3A00.000Z")
    );
    assert_eq!(reqs[1].url.query(), Some("programId=g1&bucket=day"));
    let ev_queries: Vec<_> = reqs[2..5]
        .iter()
        .map(|r| r.url.query().unwrap().to_string())
        .collect();
    assert_eq!(
        ev_queries,
        [
            "type=sale&limit=2&offset=0",
            "type=sale&limit=2&offset=2",
            "type=sale&limit=2&offset=4"
        ]
    );
    assert_eq!(reqs[5].url.query(), Some("limit=50&offset=0"));
}

#[tokio::test]
async fn offset_limit_stops_early() {
    let server = common::server().await;
    let cust = |u: &str| json!({"userId":u,"firstEventAt":"2026-11-01T00:00:00.000Z","lastEventAt":"2026-11-20T00:00:00.000Z","eventCount":1,"revenue":1});
    mount(
        &server,
        "GET",
        "/partners/p1/customers",
        echo(
            200,
            json!({"partnerId":"p1","customers":[cust("u1"),cust("u2")],"limit":2,"offset":0}),
        ),
    )
    .await;
    let c = client(&server);
    let got: Vec<_> = c
        .partners()
        .customers("p1")
        .page_size(2)
        .limit(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn login_links_need_extension() {
    let server = common::server().await;
    mount(
        &server,
        "GET",
        "/health",
        echo_ext(200, json!({"ok":true}), "login-links"),
    )
    .await;
    mount(&server, "POST", "/partners/p1/login-links", echo_ext(201, json!({"url":"http://x/auth/magic?token=opml_0011223344556677889900112233445566778899aabbccdd","expiresAt":"2026-11-20T10:45:00.000Z"}), "login-links")).await;
    let link = client(&server).partners().login_link("p1").await.unwrap();
    assert!(link.url.expose().contains("opml_0011"));
    assert!(!format!("{link:?}").contains("opml_0011"));

    let server = common::server().await;
    mount(&server, "GET", "/health", echo(200, json!({"ok":true}))).await;
    let err = client(&server)
        .partners()
        .login_link("p1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }));
}

#[tokio::test]
async fn export_routes() {
    let server = common::server().await;
    let csv = "id,amount\nm1,12.00\nm2,'=1+1\n";
    mount(
        &server,
        "GET",
        "/export/Commission.csv",
        ResponseTemplate::new(200)
            .set_body_string(csv)
            .insert_header("content-type", "text/csv"),
    )
    .await;
    mount(
        &server,
        "GET",
        "/export/Partner.json",
        echo(200, json!([{"id":"p1"}])),
    )
    .await;
    mount(
        &server,
        "GET",
        "/export/Secrets.json",
        echo(404, json!({"error":"table_not_exportable"})),
    )
    .await;
    mount(&server, "GET", "/export.json", echo(200, json!({"exportedAt":"2026-11-20T10:30:00.000Z","schemaVersion":2,"tables":{"Partner":[{"id":"p1"}]}}))).await;
    let c = client(&server);
    let body = c
        .export(ExportTable::Commission, ExportFormat::Csv)
        .await
        .unwrap();
    assert_eq!(&body[..], csv.as_bytes());
    let chunks: Vec<_> = c
        .export_stream("Commission", "csv")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let joined: Vec<u8> = chunks.concat();
    assert_eq!(joined, csv.as_bytes());
    assert_eq!(
        c.export_json(ExportTable::Partner).await.unwrap(),
        vec![json!({"id":"p1"})]
    );
    let err = c.export("Secrets", ExportFormat::Json).await.unwrap_err();
    assert_eq!(err.code(), Some("table_not_exportable"));
    let err = match c.export_stream("Secrets", "json").await {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    };
    assert_eq!(err.code(), Some("table_not_exportable"));
    let all = c.export_all().await.unwrap();
    assert_eq!(all.schema_version, 2);
    assert!(all.tables.contains_key("Partner"));
}
