//! Webhooks (API.md §3.6) end to end over raw HTTP, with a real receiver: endpoint routes,
//! fan-out to subscribed endpoints, the delivery headers and signature, every event's
//! `data` fields, failures, \[EXT\] automatic retries and the attempt log, manual retry,
//! test pings, the SSRF guard at delivery time and rolled-back requests.

mod attribution_support;
mod webhooks_support;

use std::time::Duration;

use attribution_support::{ts, Resp, ADMIN, MIN, T};
use openpartner_mock::Config;
use reqwest::Method;
use serde_json::{json, Value};
use webhooks_support::{expected_signature, Receiver};

/// A server with `f` applied to the test config.
async fn server(f: impl FnOnce(&mut Config)) -> T {
    let mut cfg = Config::for_tests(ADMIN);
    f(&mut cfg);
    T::with(cfg).await
}

/// Creates an endpoint for `url` subscribed to `events`: (id, secret).
async fn endpoint(t: &T, url: &str, events: &[&str]) -> (String, String) {
    let r = t
        .post("/webhooks", json!({"url": url, "events": events}))
        .await;
    assert_eq!(r.status, 201, "create endpoint: {}", r.text);
    (
        r.body["endpoint"]["id"].as_str().unwrap().to_owned(),
        r.body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn deliveries(t: &T, endpoint: &str) -> Vec<Value> {
    let r = t.get(&format!("/webhooks/{endpoint}/deliveries")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["deliveries"].as_array().unwrap().clone()
}

/// Polls the deliveries of `endpoint` (up to 15 s) until `ok` accepts them.
async fn wait_deliveries(t: &T, endpoint: &str, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..300 {
        let d = deliveries(t, endpoint).await;
        if ok(&d) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "deliveries never matched: {:#}",
        Value::from(deliveries(t, endpoint).await)
    );
}

async fn attempts(t: &T, endpoint: &str, delivery: &str) -> Vec<Value> {
    let r = t
        .get(&format!(
            "/webhooks/{endpoint}/deliveries/{delivery}/attempts"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["attempts"].as_array().unwrap().clone()
}

async fn call(t: &T, method: Method, path: &str, body: Option<Value>) -> Resp {
    t.req(method, path, Some(ADMIN), body).await
}

/// An accrued commission of a new partner: (commission id, partner id, program id,
/// click id, event id).
async fn commission(t: &T, tag: &str) -> (String, String, String, String, String) {
    let program = t.program(json!({})).await;
    let partner = t.partner(&format!("{tag}@x.co")).await;
    t.link(&partner, &program, &format!("lk-{tag}")).await;
    let click = t.click(&format!("lk-{tag}"), &ts(0)).await;
    assert_eq!(t.identify(&click, &format!("u-{tag}")).await.status, 200);
    let ev = t
        .track(&format!("u-{tag}"), "sale", json!(100), &ts(MIN))
        .await;
    let touch = &ev["attribution"]["touches"][0];
    (
        touch["commissionId"]
            .as_str()
            .expect("a commission")
            .to_owned(),
        partner,
        program,
        click,
        ev["eventId"].as_str().unwrap().to_owned(),
    )
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut k: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    k.sort();
    k
}

#[tokio::test]
async fn commission_paid_arrives_signed_with_the_four_headers_and_its_evt_id() {
    let t = T::new().await;
    let rx = Receiver::start().await;
    let (ep, secret) = endpoint(&t, &rx.url("/hook"), &["commission.paid"]).await;
    assert!(
        secret.starts_with("whsec_") && secret.len() == 38,
        "{secret}"
    );
    let (cid, partner, ..) = commission(&t, "paid").await;
    let r = t
        .post(&format!("/commissions/{cid}/approve"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let run = t.post("/payouts/run", json!({})).await;
    assert_eq!(run.status, 200, "{}", run.text);
    let payout = run.body["payouts"][0]["payoutId"].as_str().unwrap();

    let got = rx.wait_for(1).await;
    rx.assert_total_after(300, 1).await;
    let g = &got[0];
    assert_eq!(g.path, "/hook");
    assert_eq!(g.header("content-type"), "application/json");
    assert_eq!(g.header("user-agent"), "OpenPartner-Webhooks/1");
    assert_eq!(g.header("x-openpartner-event"), "commission.paid");
    let ts_header = g.header("x-openpartner-timestamp");
    let sent: i64 = ts_header.parse().expect("unix seconds");
    assert!((chrono::Utc::now().timestamp() - sent).abs() < 300);
    assert_eq!(
        g.header("x-openpartner-signature"),
        expected_signature(&secret, ts_header, &g.body)
    );
    let body = g.json();
    let evt = body["id"].as_str().unwrap();
    assert!(evt.starts_with("evt_") && evt.len() == 30, "{evt}");
    assert_eq!(g.header("x-openpartner-delivery"), evt);
    assert_eq!(body["event"], "commission.paid");
    assert!(body["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        body["data"],
        json!({"commissionId": cid, "partnerId": partner, "amount": "20.00",
               "currency": "USD", "payoutId": payout})
    );

    let d = wait_deliveries(&t, &ep, |d| {
        d.first().is_some_and(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!(d.len(), 1);
    let d = &d[0];
    assert_eq!(d["endpointId"], ep.as_str());
    assert_eq!(d["eventId"], evt);
    assert_eq!(d["eventType"], "commission.paid");
    assert_eq!(d["payload"], g.body.as_str(), "payload is the exact body");
    assert_eq!(d["httpStatus"], 200);
    assert_eq!(d["error"], Value::Null);
    assert_eq!(d["attempts"], 1);
    assert!(d["deliveredAt"].is_string() && d["lastAttemptAt"].is_string());
    assert!(d.get("nextAttemptAt").is_none());
    assert_eq!(
        d["id"].as_str().unwrap().len(),
        26,
        "the delivery id is a bare ULID"
    );
    let e = t.get(&format!("/webhooks/{ep}")).await;
    assert!(e.body["endpoint"]["lastUsedAt"].is_string(), "{}", e.text);
}

#[tokio::test]
async fn endpoint_routes_create_list_get_patch_delete_and_validate() {
    let t = T::new().await;
    let r = t
        .post(
            "/webhooks",
            json!({"url": "https://hooks.example.com/a", "events": ["partner.created", "*"], "label": " CRM "}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let e = &r.body["endpoint"];
    let secret = r.body["secret"].as_str().unwrap();
    assert_eq!(
        keys(e),
        sorted(&[
            "id",
            "tenantId",
            "url",
            "secretPrefix",
            "events",
            "active",
            "label",
            "createdAt",
            "lastUsedAt"
        ])
    );
    assert_eq!(e["secretPrefix"], &secret[..10]);
    assert_eq!(e["events"], json!(["partner.created", "*"]));
    assert_eq!(e["label"], "CRM");
    assert_eq!(e["active"], true);
    assert_eq!(e["lastUsedAt"], Value::Null);
    let id = e["id"].as_str().unwrap();

    let list = t.get("/webhooks").await;
    assert_eq!(list.body["endpoints"].as_array().unwrap().len(), 1);
    assert!(
        !list.text.contains(secret),
        "listings never show the secret"
    );
    let one = t.get(&format!("/webhooks/{id}")).await;
    assert_eq!(one.body["endpoint"]["id"], id);
    assert!(!one.text.contains(secret));

    let p = call(
        &t,
        Method::PATCH,
        &format!("/webhooks/{id}"),
        Some(json!({"url": "http://hooks.example.com/b", "events": ["commission.paid"], "label": null, "active": false})),
    )
    .await;
    assert_eq!(p.status, 200, "{}", p.text);
    let e = &p.body["endpoint"];
    assert_eq!(e["url"], "http://hooks.example.com/b");
    assert_eq!(e["events"], json!(["commission.paid"]));
    assert_eq!(e["label"], Value::Null);
    assert_eq!(e["active"], false);

    // every bad field in one 400
    let bad = t
        .post(
            "/webhooks",
            json!({"url": "ftp://x.example.com", "events": ["nope"], "label": "x".repeat(81)}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.body["error"], "invalid_body");
    let fe = &bad.body["detail"]["fieldErrors"];
    for f in ["url", "events.0", "label"] {
        assert!(fe.get(f).is_some(), "{f}: {}", bad.text);
    }
    for body in [
        json!({"url": "https://x.example.com", "events": []}),
        json!({"url": "/relative", "events": ["*"]}),
        json!({"events": ["*"]}),
        json!({"url": "https://x.example.com"}),
    ] {
        let r = t.post("/webhooks", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    let r = call(
        &t,
        Method::PATCH,
        &format!("/webhooks/{id}"),
        Some(json!({"events": []})),
    )
    .await;
    assert_eq!(r.status, 400);

    // scopes: webhooks:write may create and delete, not list
    let scoped = t.scoped_key(&["webhooks:write"]).await;
    let r = t
        .post_as(
            &scoped,
            "/webhooks",
            json!({"url": "https://x.example.com/s", "events": ["*"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let sid = r.body["endpoint"]["id"].as_str().unwrap().to_owned();
    assert_eq!(t.get_as(&scoped, "/webhooks").await.status, 403);
    let other = t.scoped_key(&["partners:read"]).await;
    let r = t
        .post_as(
            &other,
            "/webhooks",
            json!({"url": "https://x.example.com/s", "events": ["*"]}),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["error"], "forbidden_scope");
    assert_eq!(r.body["required"], "webhooks:write");
    let r = t
        .req(
            Method::DELETE,
            &format!("/webhooks/{sid}"),
            Some(&scoped),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"ok": true}));
    assert_eq!(
        t.get(&format!("/webhooks/{sid}")).await.body["endpoint"]["active"],
        false
    );

    // hard delete removes it; 404s
    let r = call(&t, Method::DELETE, &format!("/webhooks/{sid}?hard=1"), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        t.get(&format!("/webhooks/{sid}")).await.body["error"],
        "not_found"
    );
    for (m, path) in [
        (Method::GET, "/webhooks/NOPE".to_owned()),
        (Method::DELETE, "/webhooks/NOPE".to_owned()),
        (Method::GET, "/webhooks/NOPE/deliveries".to_owned()),
        (
            Method::GET,
            format!("/webhooks/{id}/deliveries/NOPE/attempts"),
        ),
        (
            Method::POST,
            format!("/webhooks/{id}/deliveries/NOPE/retry"),
        ),
        (Method::POST, "/webhooks/NOPE/test".to_owned()),
    ] {
        let r = call(&t, m.clone(), &path, (m == Method::POST).then(|| json!({}))).await;
        assert_eq!(
            (r.status, r.body["error"].as_str()),
            (404, Some("not_found")),
            "{m} {path}"
        );
    }
    let r = call(
        &t,
        Method::DELETE,
        &format!("/webhooks/{id}?hard=maybe"),
        None,
    )
    .await;
    assert_eq!(r.body["error"], "invalid_query");
    // partners cannot see endpoints
    let pid = t.partner("p@x.co").await;
    let pk = t.partner_key(&pid).await;
    assert_eq!(t.get_as(&pk, "/webhooks").await.status, 403);
}

#[tokio::test]
async fn the_secret_is_never_stored_for_an_idempotent_replay() {
    let t = T::new().await;
    let send = || {
        t.http
            .post(t.url("/webhooks"))
            .bearer_auth(ADMIN)
            .header("idempotency-key", "wh-1")
            .json(&json!({"url": "https://x.example.com/", "events": ["*"]}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), 409);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["error"], "idempotency_replay_unavailable");
    assert_eq!(again["detail"]["id"], first["endpoint"]["id"]);
}

#[tokio::test]
async fn only_subscribed_active_endpoints_get_an_event_and_star_gets_everything() {
    let t = T::new().await;
    let (a, b, c, d) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    endpoint(&t, &a.url("/"), &["partner.created"]).await;
    endpoint(&t, &b.url("/"), &["commission.paid", "payout.created"]).await;
    let (all, _) = endpoint(&t, &c.url("/"), &["*"]).await;
    let (off, _) = endpoint(&t, &d.url("/"), &["partner.created"]).await;
    let r = call(&t, Method::DELETE, &format!("/webhooks/{off}"), None).await;
    assert_eq!(r.status, 200);

    t.partner("one@x.co").await;
    let got = a.wait_for(1).await;
    assert_eq!(got[0].header("x-openpartner-event"), "partner.created");
    c.wait_for(1).await;
    a.assert_total_after(300, 1).await;
    b.assert_total_after(0, 0).await;
    d.assert_total_after(0, 0).await;
    assert_eq!(
        deliveries(&t, &off).await.len(),
        0,
        "no delivery row for an inactive endpoint"
    );
    // the same event to two endpoints: the same evt id, one delivery row each
    assert_eq!(
        a.got()[0].header("x-openpartner-delivery"),
        c.got()[0].header("x-openpartner-delivery")
    );
    assert_eq!(deliveries(&t, &all).await.len(), 1);
}

/// Every event type, through a `*` endpoint: exactly the §3.6 `data` fields.
#[tokio::test]
async fn every_event_type_carries_exactly_its_documented_data() {
    let t = T::new().await;
    let rx = Receiver::start().await;
    endpoint(&t, &rx.url("/all"), &["*"]).await;

    // partner.created (invited) then partner.activated through the magic link
    let r = t
        .post(
            "/partners",
            json!({"email": "inv@x.co", "name": "Inv", "sendInvite": true}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let invited = r.body["id"].as_str().unwrap().to_owned();
    let mail = t.get("/dev/mailbox").await;
    let token = mail.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["to"] == "inv@x.co")
        .unwrap()["metadata"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = t
        .req(
            Method::POST,
            "/auth/magic/verify",
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(v.status, 200, "{}", v.text);

    // attribution.created + commission.accrued, approved, reversed; payout + paid
    let (cid, partner, program, click, event) = commission(&t, "all").await;
    let ev2 = t.track("u-all", "sale", json!(50), &ts(2 * MIN)).await;
    let cid2 = ev2["attribution"]["touches"][0]["commissionId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        t.post(&format!("/commissions/{cid2}/reverse"), json!({}))
            .await
            .status,
        200
    );
    assert_eq!(
        t.post(&format!("/commissions/{cid}/approve"), json!({}))
            .await
            .status,
        200
    );
    let run = t.post("/payouts/run", json!({})).await;
    let payout = run.body["payouts"][0]["payoutId"]
        .as_str()
        .unwrap()
        .to_owned();

    // partner.created ×2 (invited + the commission's partner), activated, 2 attributions,
    // 2 accrued, approved, reversed, payout.created, paid
    let got = rx.wait_for(11).await;
    rx.assert_total_after(300, 11).await;
    let by_type = |ty: &str| -> Vec<Value> {
        got.iter()
            .map(|g| g.json())
            .filter(|b| b["event"] == ty)
            .map(|b| b["data"].clone())
            .collect()
    };
    let created = by_type("partner.created");
    assert_eq!(created.len(), 2);
    let inv = created
        .iter()
        .find(|d| d["partnerId"] == invited.as_str())
        .unwrap();
    assert_eq!(
        keys(inv),
        sorted(&[
            "partnerId",
            "email",
            "name",
            "activatedAt",
            "invited",
            "programIds"
        ])
    );
    assert_eq!(inv["email"], "inv@x.co");
    assert_eq!(inv["invited"], true);
    assert_eq!(inv["activatedAt"], Value::Null);
    assert!(inv["programIds"].is_array());

    let act = &by_type("partner.activated")[0];
    assert_eq!(
        keys(act),
        sorted(&["partnerId", "email", "name", "activatedAt"])
    );
    assert_eq!(act["partnerId"], invited.as_str());
    assert!(act["activatedAt"].is_string());

    let attr = by_type("attribution.created");
    assert_eq!(attr.len(), 2);
    let a = &attr[0];
    assert_eq!(
        keys(a),
        sorted(&[
            "attributionId",
            "eventId",
            "partnerId",
            "programId",
            "clickId",
            "model",
            "weight",
            "eventType",
            "eventValue",
            "commissionId",
            "commissionCurrency"
        ])
    );
    assert_eq!(a["eventId"], event.as_str());
    assert_eq!(a["partnerId"], partner.as_str());
    assert_eq!(a["programId"], program.as_str());
    assert_eq!(a["clickId"], click.as_str());
    assert_eq!(a["model"], "last_click");
    assert!(a["weight"].is_number(), "weight is a JSON number: {a}");
    assert_eq!(a["weight"].to_string(), "1");
    assert_eq!(a["eventType"], "sale");
    assert_eq!(a["eventValue"], "100.00", "eventValue is a decimal string");
    assert_eq!(a["commissionId"], cid.as_str());
    assert_eq!(a["commissionCurrency"], "USD");

    let acc = by_type("commission.accrued");
    assert_eq!(acc.len(), 2);
    assert_eq!(
        keys(&acc[0]),
        sorted(&[
            "commissionId",
            "partnerId",
            "attributionId",
            "clickId",
            "eventId",
            "programId",
            "amount",
            "currency",
            "eventType",
            "eventValue"
        ])
    );
    assert_eq!(acc[0]["amount"], "20.00");
    assert_eq!(acc[0]["eventValue"], "100.00");
    assert_eq!(acc[0]["attributionId"], a["attributionId"]);
    assert_eq!(acc[1]["amount"], "10.00");

    let appr = &by_type("commission.approved")[0];
    assert_eq!(
        keys(appr),
        sorted(&[
            "commissionId",
            "partnerId",
            "amount",
            "currency",
            "attributionId"
        ])
    );
    assert_eq!(appr["commissionId"], cid.as_str());
    assert_eq!(appr["amount"], "20.00");

    let rev = &by_type("commission.reversed")[0];
    assert_eq!(
        keys(rev),
        sorted(&["commissionId", "partnerId", "amount", "currency"])
    );
    assert_eq!(rev["commissionId"], cid2.as_str());
    assert_eq!(rev["amount"], "10.00");

    let po = &by_type("payout.created")[0];
    assert_eq!(
        keys(po),
        sorted(&[
            "payoutId",
            "partnerId",
            "amount",
            "currency",
            "method",
            "commissionIds"
        ])
    );
    assert_eq!(po["payoutId"], payout.as_str());
    assert_eq!(po["amount"], "20.00");
    assert_eq!(po["method"], "manual");
    assert_eq!(po["commissionIds"], json!([cid]));

    let paid = &by_type("commission.paid")[0];
    assert_eq!(
        keys(paid),
        sorted(&[
            "commissionId",
            "partnerId",
            "amount",
            "currency",
            "payoutId"
        ])
    );

    // events arrive in the order they were recorded within a request: payout.created
    // before commission.paid
    let order: Vec<String> = got
        .iter()
        .map(|g| g.json()["event"].as_str().unwrap().to_owned())
        .collect();
    let pos = |ty: &str| order.iter().position(|e| e == ty).unwrap();
    assert!(pos("payout.created") < pos("commission.paid"), "{order:?}");
    // every envelope id is distinct
    let mut ids: Vec<String> = got
        .iter()
        .map(|g| g.header("x-openpartner-delivery").to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 11);
}

#[tokio::test]
async fn a_500_without_retries_fails_after_one_attempt() {
    let t = server(|c| c.webhook_attempts = 1).await;
    let rx = Receiver::start().await;
    rx.answer_next(&[500]);
    let (ep, _) = endpoint(&t, &rx.url("/"), &["partner.created"]).await;
    t.partner("f@x.co").await;
    let d = wait_deliveries(&t, &ep, |d| {
        d.first().is_some_and(|d| d["status"] != "pending")
    })
    .await;
    assert_eq!(d[0]["status"], "failed");
    assert_eq!(d[0]["httpStatus"], 500);
    assert_eq!(d[0]["error"], "HTTP 500");
    assert_eq!(d[0]["attempts"], 1);
    assert_eq!(d[0]["deliveredAt"], Value::Null);
    let a = attempts(&t, &ep, d[0]["id"].as_str().unwrap()).await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["n"], 1);
    assert_eq!(a[0]["trigger"], "scheduled");
    assert_eq!(a[0]["httpStatus"], 500);
    assert_eq!(a[0]["responseSnippet"], "receiver says 500");
    assert!(a[0]["durationMs"].is_u64() && a[0]["at"].is_string());
    rx.assert_total_after(500, 1).await;
    // webhook-retries is not advertised with one attempt
    let h = t.get("/health").await;
    let ext = h.headers["openpartner-extensions"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!ext.contains("webhook-retries"), "{ext}");
}

#[tokio::test]
async fn automatic_retries_keep_the_delivery_pending_then_deliver_with_one_id() {
    let t = server(|c| {
        c.webhook_attempts = 4;
        c.webhook_schedule = vec![Duration::from_millis(1000)];
    })
    .await;
    let ext = t.get("/health").await.headers["openpartner-extensions"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ext.contains("webhook-retries"), "{ext}");
    let rx = Receiver::start().await;
    rx.answer_next(&[500, 502]);
    let (ep, secret) = endpoint(&t, &rx.url("/"), &["partner.created"]).await;
    t.partner("r@x.co").await;
    rx.wait_for(1).await;
    // between attempts: pending with nextAttemptAt in the future
    let d = wait_deliveries(&t, &ep, |d| d.first().is_some_and(|d| d["attempts"] == 1)).await;
    assert_eq!(d[0]["status"], "pending");
    assert_eq!(d[0]["httpStatus"], 500);
    let next = d[0]["nextAttemptAt"]
        .as_str()
        .expect("nextAttemptAt while pending");
    assert!(next > d[0]["lastAttemptAt"].as_str().unwrap());

    let d = wait_deliveries(&t, &ep, |d| {
        d.first().is_some_and(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!(d[0]["attempts"], 3);
    assert_eq!(d[0]["httpStatus"], 200);
    assert_eq!(d[0]["error"], Value::Null);
    assert!(d[0].get("nextAttemptAt").is_none());
    let a = attempts(&t, &ep, d[0]["id"].as_str().unwrap()).await;
    let statuses: Vec<_> = a.iter().map(|a| a["httpStatus"].clone()).collect();
    assert_eq!(statuses, vec![json!(500), json!(502), json!(200)]);
    assert!(a.iter().all(|a| a["trigger"] == "scheduled"));
    assert_eq!(
        a.iter()
            .map(|a| a["n"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(a[1]["error"], "HTTP 502");
    // the same body and delivery id on every attempt, each correctly signed
    let got = rx.got();
    assert_eq!(got.len(), 3);
    for g in &got {
        assert_eq!(g.body, got[0].body);
        assert_eq!(
            g.header("x-openpartner-delivery"),
            got[0].header("x-openpartner-delivery")
        );
        assert_eq!(
            g.header("x-openpartner-signature"),
            expected_signature(&secret, g.header("x-openpartner-timestamp"), &g.body)
        );
    }
    rx.assert_total_after(1500, 3).await;
}

#[tokio::test]
async fn the_last_failed_attempt_fails_the_delivery_and_retry_after_is_honoured() {
    let t = server(|c| {
        c.webhook_attempts = 2;
        c.webhook_schedule = vec![Duration::from_millis(500)];
    })
    .await;
    let rx = Receiver::start().await;
    // 503 with Retry-After: 2 s moves the retry from ~500 ms to 1 s (2 × scheduled cap)
    rx.answer_next_retry_after(503, 2);
    rx.answer_next(&[500]);
    let (ep, _) = endpoint(&t, &rx.url("/"), &["partner.created"]).await;
    t.partner("ra@x.co").await;
    let d = wait_deliveries(&t, &ep, |d| d.first().is_some_and(|d| d["attempts"] == 1)).await;
    let last =
        chrono::DateTime::parse_from_rfc3339(d[0]["lastAttemptAt"].as_str().unwrap()).unwrap();
    let next =
        chrono::DateTime::parse_from_rfc3339(d[0]["nextAttemptAt"].as_str().unwrap()).unwrap();
    let gap = (next - last).num_milliseconds();
    assert_eq!(gap, 1000, "Retry-After capped at twice the schedule");
    let d = wait_deliveries(&t, &ep, |d| {
        d.first().is_some_and(|d| d["status"] == "failed")
    })
    .await;
    assert_eq!(d[0]["attempts"], 2);
    assert_eq!(d[0]["httpStatus"], 500);
    rx.assert_total_after(1200, 2).await;
}

#[tokio::test]
async fn a_manual_retry_resends_the_same_body_and_cancels_the_schedule() {
    let t = server(|c| {
        c.webhook_attempts = 5;
        c.webhook_schedule = vec![Duration::from_secs(3600)];
    })
    .await;
    let rx = Receiver::start().await;
    rx.answer_next(&[500, 500]);
    let (ep, secret) = endpoint(&t, &rx.url("/"), &["partner.created"]).await;
    t.partner("m@x.co").await;
    let d = wait_deliveries(&t, &ep, |d| d.first().is_some_and(|d| d["attempts"] == 1)).await;
    assert_eq!(d[0]["status"], "pending");
    assert!(d[0]["nextAttemptAt"].is_string());
    let id = d[0]["id"].as_str().unwrap().to_owned();

    // a failed manual retry: failed at once, no schedule left
    let r = t
        .post(&format!("/webhooks/{ep}/deliveries/{id}/retry"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let dd = &r.body["delivery"];
    assert_eq!(dd["status"], "failed");
    assert_eq!(dd["attempts"], 2);
    assert!(dd.get("nextAttemptAt").is_none(), "{dd}");
    // a successful one
    let r = t
        .post(&format!("/webhooks/{ep}/deliveries/{id}/retry"), json!({}))
        .await;
    let dd = &r.body["delivery"];
    assert_eq!(dd["status"], "delivered", "{}", r.text);
    assert_eq!(dd["attempts"], 3);
    assert_eq!(dd["httpStatus"], 200);
    let a = attempts(&t, &ep, &id).await;
    let triggers: Vec<_> = a
        .iter()
        .map(|a| a["trigger"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(triggers, ["scheduled", "manual", "manual"]);
    let got = rx.got();
    assert_eq!(got.len(), 3);
    for g in &got {
        assert_eq!(g.body, got[0].body);
        assert_eq!(
            g.header("x-openpartner-delivery"),
            got[0].header("x-openpartner-delivery")
        );
        assert_eq!(
            g.header("x-openpartner-signature"),
            expected_signature(&secret, g.header("x-openpartner-timestamp"), &g.body)
        );
    }
    // the schedule stays cancelled
    t.srv.clock().advance(Duration::from_secs(7200));
    t.srv.state().webhooks.wake();
    rx.assert_total_after(500, 3).await;
}

#[tokio::test]
async fn a_retry_through_another_endpoint_is_endpoint_mismatch_and_sends_nothing() {
    let t = T::new().await;
    let rx = Receiver::start().await;
    let (a, _) = endpoint(&t, &rx.url("/a"), &["partner.created"]).await;
    let (b, _) = endpoint(&t, &rx.url("/b"), &["payout.created"]).await;
    t.partner("mm@x.co").await;
    let d = wait_deliveries(&t, &a, |d| {
        d.first().is_some_and(|d| d["status"] == "delivered")
    })
    .await;
    let id = d[0]["id"].as_str().unwrap();
    let r = t
        .post(&format!("/webhooks/{b}/deliveries/{id}/retry"), json!({}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"], "endpoint_mismatch");
    let r = t
        .get(&format!("/webhooks/{b}/deliveries/{id}/attempts"))
        .await;
    assert_eq!(
        r.status, 400,
        "attempts of another endpoint's delivery: {}",
        r.text
    );
    assert_eq!(r.body["error"], "endpoint_mismatch");
    rx.assert_total_after(300, 1).await;
    assert_eq!(deliveries(&t, &a).await[0]["attempts"], 1);
}

#[tokio::test]
async fn a_test_ping_sends_a_synthetic_event_now() {
    let t = T::new().await;
    let rx = Receiver::start().await;
    let (ep, secret) = endpoint(&t, &rx.url("/t"), &["commission.paid"]).await;
    let r = t.post(&format!("/webhooks/{ep}/test"), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = rx.got();
    assert_eq!(got.len(), 1, "sent before the answer");
    let g = &got[0];
    assert_eq!(g.header("x-openpartner-event"), "webhook.test");
    assert_eq!(
        g.header("x-openpartner-signature"),
        expected_signature(&secret, g.header("x-openpartner-timestamp"), &g.body)
    );
    let body = g.json();
    assert_eq!(body["data"]["_synthetic"], true);
    assert_eq!(r.body["event"], body);
    assert_eq!(
        g.header("x-openpartner-delivery"),
        body["id"].as_str().unwrap()
    );
    let d = &r.body["delivery"];
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["eventType"], "webhook.test");
    assert_eq!(d["payload"], g.body.as_str());
    let a = attempts(&t, &ep, d["id"].as_str().unwrap()).await;
    assert_eq!(a[0]["trigger"], "manual");

    let r = t
        .post(
            &format!("/webhooks/{ep}/test?event=partner.created"),
            json!({}),
        )
        .await;
    assert_eq!(r.body["event"]["event"], "partner.created");
    assert_eq!(r.body["event"]["data"], json!({"_synthetic": true}));
    let r = t
        .post(&format!("/webhooks/{ep}/test?event=bogus"), json!({}))
        .await;
    assert_eq!(r.body["error"], "invalid_query");

    call(&t, Method::DELETE, &format!("/webhooks/{ep}"), None).await;
    let r = t.post(&format!("/webhooks/{ep}/test"), json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"], "endpoint_inactive");
    assert_eq!(rx.got().len(), 2);
    assert_eq!(deliveries(&t, &ep).await.len(), 2);
}

#[tokio::test]
async fn a_loopback_target_is_blocked_without_the_allowlist_and_fails_at_once() {
    let t = server(|c| {
        c.outbound_allow_private_cidrs = vec![];
        c.webhook_attempts = 5;
        c.webhook_schedule = vec![Duration::from_millis(100)];
    })
    .await;
    let rx = Receiver::start().await;
    let (ep, _) = endpoint(&t, &rx.url("/"), &["*"]).await;
    t.partner("ssrf@x.co").await;
    let d = wait_deliveries(&t, &ep, |d| {
        d.first().is_some_and(|d| d["status"] != "pending")
    })
    .await;
    assert_eq!(d[0]["status"], "failed");
    assert_eq!(d[0]["httpStatus"], Value::Null);
    assert_eq!(d[0]["attempts"], 1, "a blocked target is not retried");
    let err = d[0]["error"].as_str().unwrap();
    assert!(err.starts_with("blocked"), "{err}");
    rx.assert_total_after(300, 0).await;
    // the test ping is refused the same way
    let r = t.post(&format!("/webhooks/{ep}/test"), json!({})).await;
    assert_eq!(r.body["delivery"]["status"], "failed");
    assert_eq!(r.body["delivery"]["httpStatus"], Value::Null);
    assert_eq!(rx.got().len(), 0);
}

#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_blocked_at_delivery_time() {
    let t = server(|c| {
        c.outbound_allow_private_cidrs = vec![];
        c.outbound_resolver = Some(std::sync::Arc::new(
            openpartner_mock::outbound::StaticResolver::new([(
                "rebind.test",
                "10.0.0.1".parse().unwrap(),
            )]),
        ));
    })
    .await;
    // accepted at creation (the guard runs when sending), blocked when delivered
    let (ep, _) = endpoint(&t, "http://rebind.test:8080/hook", &["partner.created"]).await;
    t.partner("rb@x.co").await;
    let d = wait_deliveries(&t, &ep, |d| {
        d.first().is_some_and(|d| d["status"] != "pending")
    })
    .await;
    assert_eq!(d[0]["status"], "failed");
    assert_eq!(d[0]["httpStatus"], Value::Null);
    let err = d[0]["error"].as_str().unwrap();
    assert!(err.contains("blocked") && err.contains("10.0.0.1"), "{err}");
}

#[tokio::test]
async fn a_rolled_back_request_emits_nothing_and_a_replay_emits_once() {
    use axum::extract::State;
    use openpartner_mock::{respond, AppState};
    // A test route that records an event and then fails: its job is rolled back.
    async fn boom(
        State(state): State<AppState>,
    ) -> openpartner_mock::error::ApiResult<respond::Reply<Value>> {
        let now = state.now_iso();
        respond::ok(&state, move |c| {
            openpartner_mock::outbox::emit(
                c,
                "01J0000000DEFAULTTENANT0000",
                "partner.created",
                json!({"partnerId": "ghost"}),
                &now,
            )?;
            Err(openpartner_mock::ApiError::conflict("boom"))
        })
        .await
    }
    let mut cfg = Config::for_tests(ADMIN);
    cfg.webhook_attempts = 1;
    let srv = openpartner_mock::spawn_with_routes(
        cfg,
        axum::Router::new().route("/boom", axum::routing::post(boom)),
    )
    .await
    .unwrap();
    let t = T {
        srv,
        http: reqwest::Client::new(),
    };
    let rx = Receiver::start().await;
    let (ep, _) = endpoint(&t, &rx.url("/"), &["partner.created"]).await;
    let r = t.post("/boom", json!({})).await;
    assert_eq!(r.status, 409, "{}", r.text);
    // a keyed create sent twice: one partner, one event
    for _ in 0..2 {
        let r = t
            .http
            .post(t.url("/partners"))
            .bearer_auth(ADMIN)
            .header("idempotency-key", "once")
            .json(&json!({"email": "real@x.co", "name": "Real", "sendInvite": false}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    let got = rx.wait_for(1).await;
    rx.assert_total_after(400, 1).await;
    assert_ne!(got[0].json()["data"]["partnerId"], "ghost");
    assert_eq!(deliveries(&t, &ep).await.len(), 1);
}

#[tokio::test]
async fn an_endpoint_only_receives_events_recorded_after_its_creation() {
    let t = T::new().await;
    t.partner("before@x.co").await;
    let rx = Receiver::start().await;
    let (ep, _) = endpoint(&t, &rx.url("/"), &["*"]).await;
    t.partner("after@x.co").await;
    let got = rx.wait_for(1).await;
    rx.assert_total_after(300, 1).await;
    assert_eq!(got[0].json()["data"]["email"], "after@x.co");
    assert_eq!(deliveries(&t, &ep).await.len(), 1);
}

#[tokio::test]
async fn with_extensions_off_there_is_one_attempt_and_no_attempt_log() {
    let t = server(|c| {
        c.extensions = false;
        c.webhook_schedule = vec![Duration::from_millis(100)];
    })
    .await;
    let rx = Receiver::start().await;
    rx.answer_next(&[500]);
    let (ep, _) = endpoint(&t, &rx.url("/"), &["partner.created"]).await;
    t.partner("base@x.co").await;
    let d = wait_deliveries(&t, &ep, |d| {
        d.first().is_some_and(|d| d["status"] != "pending")
    })
    .await;
    assert_eq!(d[0]["status"], "failed");
    assert_eq!(d[0]["attempts"], 1);
    let r = t
        .get(&format!(
            "/webhooks/{ep}/deliveries/{}/attempts",
            d[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"], "route_not_found");
    rx.assert_total_after(400, 1).await;
}

#[tokio::test]
async fn a_backlog_larger_than_the_send_bound_is_sent_16_at_a_time_without_stalling() {
    let t = T::new().await;
    let rx = Receiver::start().await;
    rx.delay(Duration::from_millis(150));
    let (ep, _) = endpoint(&t, &rx.url("/slow"), &["partner.created"]).await;
    let n = 40;
    let creates = (0..n).map(|i| {
        t.post(
            "/partners",
            json!({"email": format!("b{i}@x.co"), "name": "B", "sendInvite": false}),
        )
    });
    for r in futures::future::join_all(creates).await {
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let d = wait_deliveries(&t, &ep, |d| {
        d.len() == n && d.iter().all(|d| d["status"] == "delivered")
    })
    .await;
    assert_eq!(d.len(), n);
    let max = rx.max_in_flight();
    assert!(
        (2..=16).contains(&max),
        "sends run concurrently, at most 16 at once: {max}"
    );
    rx.assert_total_after(300, n).await;
}
