//! Partner postbacks (API.md §3.6), raw HTTP: CRUD, roles, validation, the 204 delete,
//! and firing to a real receiver (an axum server on 127.0.0.1:0).

mod attribution_support;

use attribution_support::{Resp, ADMIN, T};
use reqwest::Method;
use serde_json::{json, Value};

const URL: &str = "https://cb.example.com/pb?c={click_id}&a={commission_amount}";

async fn create(t: &T, partner: &str, cred: &str, body: Value) -> Resp {
    t.req(
        Method::POST,
        &format!("/partners/{partner}/postbacks"),
        Some(cred),
        Some(body),
    )
    .await
}

async fn patch(t: &T, partner: &str, id: &str, cred: &str, body: Value) -> Resp {
    t.req(
        Method::PATCH,
        &format!("/partners/{partner}/postbacks/{id}"),
        Some(cred),
        Some(body),
    )
    .await
}

async fn delete(t: &T, partner: &str, id: &str, cred: &str) -> Resp {
    t.req(
        Method::DELETE,
        &format!("/partners/{partner}/postbacks/{id}"),
        Some(cred),
        None,
    )
    .await
}

async fn list(t: &T, partner: &str, cred: &str) -> Resp {
    t.req(
        Method::GET,
        &format!("/partners/{partner}/postbacks"),
        Some(cred),
        None,
    )
    .await
}

#[track_caller]
fn assert_err(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["error"], code, "{}", r.text);
}

#[tokio::test]
async fn crud_as_admin() {
    let t = T::new().await;
    let p = t.partner("crud@example.com").await;

    let empty = list(&t, &p, ADMIN).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(
        empty.body,
        json!({"postbacks": [], "supportedEvents": [
            "commission.accrued", "commission.approved", "commission.reversed", "commission.paid"]})
    );

    let r = create(
        &t,
        &p,
        ADMIN,
        json!({"url": URL, "events": ["commission.approved", "commission.paid", "commission.approved"], "color": "ignored"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let row = r.body.clone();
    let id = row["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 26);
    assert_eq!(row["partnerId"], p.as_str());
    assert_eq!(row["url"], URL);
    assert_eq!(
        row["events"],
        json!(["commission.approved", "commission.paid"])
    );
    assert_eq!(row["enabled"], true);
    assert!(row["createdAt"].as_str().unwrap().ends_with('Z'));
    let mut keys: Vec<&String> = row.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["createdAt", "enabled", "events", "id", "partnerId", "url"]
    );

    let l = list(&t, &p, ADMIN).await;
    assert_eq!(l.body["postbacks"], json!([row]));

    let u = patch(&t, &p, &id, ADMIN, json!({"enabled": false, "url": null})).await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.body["enabled"], false);
    assert_eq!(u.body["url"], URL, "null = not given");
    assert_eq!(u.body["events"], row["events"]);
    let u = patch(
        &t,
        &p,
        &id,
        ADMIN,
        json!({"events": ["commission.reversed"], "url": "http://other.example/x"}),
    )
    .await;
    assert_eq!(u.status, 200, "{}", u.text);
    assert_eq!(u.body["events"], json!(["commission.reversed"]));
    assert_eq!(u.body["url"], "http://other.example/x");
    assert_eq!(u.body["enabled"], false);
    assert_eq!(u.body["createdAt"], row["createdAt"]);

    let d = delete(&t, &p, &id, ADMIN).await;
    assert_eq!(d.status, 204);
    assert_eq!(d.text, "", "204 has no body");
    assert_eq!(list(&t, &p, ADMIN).await.body["postbacks"], json!([]));
    assert_err(&delete(&t, &p, &id, ADMIN).await, 404, "postback_not_found");
    assert_err(
        &patch(&t, &p, &id, ADMIN, json!({"enabled": true})).await,
        404,
        "postback_not_found",
    );
}

#[tokio::test]
async fn roles_and_not_found() {
    let t = T::new().await;
    let p = t.partner("self@example.com").await;
    let other = t.partner("other@example.com").await;
    let pkey = t.partner_key(&p).await;
    let okey = t.partner_key(&other).await;
    let scoped = t
        .scoped_key(&["partners:read", "partners:write", "webhooks:write"])
        .await;

    // the partner itself: every route
    let r = create(
        &t,
        &p,
        &pkey,
        json!({"url": URL, "events": ["commission.accrued"], "enabled": false}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["enabled"], false);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(list(&t, &p, &pkey).await.status, 200);
    assert_eq!(
        patch(&t, &p, &id, &pkey, json!({"enabled": true}))
            .await
            .status,
        200
    );
    let att = t
        .get_as(&pkey, &format!("/partners/{p}/postbacks/{id}/attempts"))
        .await;
    assert_eq!(att.status, 200, "{}", att.text);
    assert_eq!(att.body, json!({"attempts": []}));

    // another partner: 403 on every route, before anything is looked up
    assert_err(&list(&t, &p, &okey).await, 403, "forbidden");
    assert_err(
        &create(
            &t,
            &p,
            &okey,
            json!({"url": URL, "events": ["commission.paid"]}),
        )
        .await,
        403,
        "forbidden",
    );
    assert_err(
        &patch(&t, &p, &id, &okey, json!({"enabled": false})).await,
        403,
        "forbidden",
    );
    assert_err(&delete(&t, &p, &id, &okey).await, 403, "forbidden");
    assert_err(
        &t.get_as(&okey, &format!("/partners/{p}/postbacks/{id}/attempts"))
            .await,
        403,
        "forbidden",
    );
    // its own path does not reach p's postback
    assert_err(
        &patch(&t, &other, &id, &okey, json!({"enabled": false})).await,
        404,
        "postback_not_found",
    );
    assert_err(
        &delete(&t, &other, &id, ADMIN).await,
        404,
        "postback_not_found",
    );

    // a scoped key: no scope grants these routes
    assert_err(&list(&t, &p, &scoped).await, 403, "forbidden");
    assert_err(
        &create(
            &t,
            &p,
            &scoped,
            json!({"url": URL, "events": ["commission.paid"]}),
        )
        .await,
        403,
        "forbidden",
    );
    // no credential
    let r = t
        .req(Method::GET, &format!("/partners/{p}/postbacks"), None, None)
        .await;
    assert_err(&r, 401, "unauthorized");

    // unknown partner (admin)
    assert_err(&list(&t, "nope", ADMIN).await, 404, "partner_not_found");
    assert_err(
        &create(
            &t,
            "nope",
            ADMIN,
            json!({"url": URL, "events": ["commission.paid"]}),
        )
        .await,
        404,
        "partner_not_found",
    );
    assert_err(
        &patch(&t, "nope", &id, ADMIN, json!({})).await,
        404,
        "partner_not_found",
    );
    assert_err(
        &delete(&t, "nope", &id, ADMIN).await,
        404,
        "partner_not_found",
    );
    assert_err(
        &t.get(&format!("/partners/{p}/postbacks/nope/attempts"))
            .await,
        404,
        "postback_not_found",
    );

    // the partner deletes its own: 204
    let d = delete(&t, &p, &id, &pkey).await;
    assert_eq!(d.status, 204, "{}", d.text);
}

#[tokio::test]
async fn validation_reports_every_field() {
    let t = T::new().await;
    let p = t.partner("val@example.com").await;

    let r = create(&t, &p, ADMIN, json!({})).await;
    assert_err(&r, 400, "invalid_body");
    let fe = &r.body["detail"]["fieldErrors"];
    assert_eq!(fe["url"], json!(["Required"]), "{}", r.text);
    assert_eq!(fe["events"], json!(["Required"]), "{}", r.text);

    let r = create(
        &t,
        &p,
        ADMIN,
        json!({"url": "ftp://cb.example.com/", "events": ["commission.approved", "partner.created"]}),
    )
    .await;
    assert_err(&r, 400, "invalid_body");
    let fe = &r.body["detail"]["fieldErrors"];
    assert_eq!(fe["url"], json!(["Expected an absolute http(s) URL"]));
    assert!(fe["events.1"][0]
        .as_str()
        .unwrap()
        .starts_with("Expected one of"));
    assert!(fe.get("events.0").is_none());

    // wrong types are reported per field, all at once
    let r = create(
        &t,
        &p,
        ADMIN,
        json!({"url": 5, "events": "commission.paid", "enabled": "yes"}),
    )
    .await;
    assert_err(&r, 400, "invalid_body");
    let fe = r.body["detail"]["fieldErrors"].as_object().unwrap();
    for f in ["url", "events", "enabled"] {
        assert!(fe.contains_key(f), "{f} in {}", r.text);
    }

    let too_many = vec!["commission.paid"; 11];
    let long = format!("https://cb.example.com/{}", "a".repeat(2048));
    let r = create(&t, &p, ADMIN, json!({"url": long, "events": too_many})).await;
    assert_err(&r, 400, "invalid_body");
    let fe = &r.body["detail"]["fieldErrors"];
    assert_eq!(fe["url"], json!(["must be at most 2048 characters"]));
    assert_eq!(fe["events"], json!(["must contain 1-10 event types"]));

    let r = create(&t, &p, ADMIN, json!({"url": URL, "events": []})).await;
    assert_err(&r, 400, "invalid_body");

    let r = create(
        &t,
        &p,
        ADMIN,
        json!({"url": "https://cb.example.com/?c={clickid}", "events": ["commission.paid"]}),
    )
    .await;
    assert_err(&r, 400, "invalid_body");
    assert!(r.body["detail"]["fieldErrors"]["url"][0]
        .as_str()
        .unwrap()
        .starts_with("Unknown macro {clickid}"));

    // PATCH validates the given fields the same way, before the lookup
    let id = create(
        &t,
        &p,
        ADMIN,
        json!({"url": URL, "events": ["commission.paid"]}),
    )
    .await
    .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = patch(
        &t,
        &p,
        &id,
        ADMIN,
        json!({"url": "not a url", "events": [], "enabled": 1}),
    )
    .await;
    assert_err(&r, 400, "invalid_body");
    let fe = r.body["detail"]["fieldErrors"].as_object().unwrap();
    for f in ["url", "events", "enabled"] {
        assert!(fe.contains_key(f), "{f} in {}", r.text);
    }
    let r = patch(&t, &p, "nope", ADMIN, json!({"events": ["x"]})).await;
    assert_err(&r, 400, "invalid_body");
    // the row did not change
    let l = list(&t, &p, ADMIN).await;
    assert_eq!(l.body["postbacks"][0]["url"], URL);
}

#[tokio::test]
async fn attempts_route_is_an_extension() {
    let mut cfg = openpartner_mock::Config::for_tests(ADMIN);
    cfg.extensions = false;
    let t = T::with(cfg).await;
    let p = t.partner("noext@example.com").await;
    let r = create(
        &t,
        &p,
        ADMIN,
        json!({"url": URL, "events": ["commission.paid"]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap();
    let a = t
        .get(&format!("/partners/{p}/postbacks/{id}/attempts"))
        .await;
    assert_err(&a, 404, "route_not_found");
}

// ---- firing --------------------------------------------------------------------------

use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A receiver on 127.0.0.1:0 answering every request with `status`, recording
/// (path-and-query, user-agent) of each.
struct Receiver {
    base: String,
    hits: Arc<Mutex<Vec<(String, String)>>>,
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let hits: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let seen = hits.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap| {
                let seen = seen.clone();
                async move {
                    let ua = headers
                        .get("user-agent")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    seen.lock().unwrap().push((uri.to_string(), ua));
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        format!("answer {status}"),
                    )
                }
            },
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        Receiver { base, hits }
    }

    fn hits(&self) -> Vec<(String, String)> {
        self.hits.lock().unwrap().clone()
    }

    fn paths_starting(&self, prefix: &str) -> Vec<String> {
        self.hits()
            .into_iter()
            .map(|(u, _)| u)
            .filter(|u| u.starts_with(prefix))
            .collect()
    }
}

async fn attempts(t: &T, partner: &str, postback: &str) -> Vec<Value> {
    let r = t
        .get(&format!(
            "/partners/{partner}/postbacks/{postback}/attempts"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["attempts"].as_array().unwrap().clone()
}

/// The attempts of a postback once none is pending or sending (at most 10 s).
async fn settled_attempts(t: &T, partner: &str, postback: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let a = attempts(t, partner, postback).await;
        if a.len() >= n
            && a.iter()
                .all(|x| x["status"] == "sent" || x["status"] == "failed")
        {
            return a;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "attempts did not settle: {:?}",
        attempts(t, partner, postback).await
    );
}

async fn new_postback(t: &T, partner: &str, url: &str, events: &[&str], enabled: bool) -> String {
    let r = create(
        t,
        partner,
        ADMIN,
        json!({"url": url, "events": events, "enabled": enabled}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

/// A program and a partner with a link, clicked and identified (a user ready to buy).
struct Customer {
    program: String,
    partner: String,
    click: String,
    user: String,
}

async fn customer(t: &T, email: &str) -> Customer {
    let program = t.program(json!({})).await;
    let partner = t.partner(email).await;
    let key = format!("lk{}", &ulid::Ulid::new().to_string()[16..]).to_lowercase();
    t.link(&partner, &program, &key).await;
    let click_ts = (chrono::Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let click = t.click(&key, &click_ts).await;
    let user = format!("user-{email}");
    assert_eq!(t.identify(&click, &user).await.status, 200);
    Customer {
        program,
        partner,
        click,
        user,
    }
}

/// An attributed 200 USD sale of `c`'s user (20 %: 40.00) whose metadata carries
/// `transactionId`: (event id, commission id). Postbacks fire for events recorded at or
/// after their creation, so tests create them before the sale.
async fn buy(t: &T, c: &Customer, transaction_id: &str) -> (String, String) {
    let now = chrono::Utc::now();
    let r = t
        .post(
            "/attribution/events",
            json!({"userId": c.user, "type": "sale", "value": 200, "currency": "usd",
                   "metadata": {"transactionId": transaction_id},
                   "ts": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let event_id = r.body["eventId"].as_str().unwrap().to_owned();
    let cid = r.body["attribution"]["touches"][0]["commissionId"]
        .as_str()
        .expect("a commission")
        .to_owned();
    (event_id, cid)
}

const EVERY_MACRO: &str = "click={click_id}&partner={partner_id}&commission={commission_id}&amount={commission_amount}&cur={currency}&event={event_id}&tx={transaction_id}&type={event_type}&program={program_id}&payout={payout_id}";

#[tokio::test]
async fn approve_fires_one_get_with_every_macro_expanded() {
    let t = T::new().await;
    let rx = Receiver::start(200).await;
    let c = customer(&t, "fire@example.com").await;
    let (prog, p, click) = (c.program.clone(), c.partner.clone(), c.click.clone());
    let other = t.partner("bystander@example.com").await;

    let approved = new_postback(
        &t,
        &p,
        &format!("{}/approved?{EVERY_MACRO}", rx.base),
        &["commission.approved"],
        true,
    )
    .await;
    let accrued = new_postback(
        &t,
        &p,
        &format!(
            "{}/accrued/{{event_type}}?c={{click_id}}&e={{event_id}}",
            rx.base
        ),
        &["commission.accrued"],
        true,
    )
    .await;
    let paid = new_postback(
        &t,
        &p,
        &format!("{}/paid?payout={{payout_id}}&type={{event_type}}", rx.base),
        &["commission.paid"],
        true,
    )
    .await;
    let disabled = new_postback(
        &t,
        &p,
        &format!("{}/disabled?c={{commission_id}}", rx.base),
        &[
            "commission.approved",
            "commission.accrued",
            "commission.paid",
        ],
        false,
    )
    .await;
    let others = new_postback(
        &t,
        &other,
        &format!("{}/other?c={{commission_id}}", rx.base),
        &[
            "commission.approved",
            "commission.accrued",
            "commission.paid",
        ],
        true,
    )
    .await;

    // the sale's commission.accrued: only the accrued postback
    let (event_id, cid) = buy(&t, &c, "order 42&x=1").await;
    let a = settled_attempts(&t, &p, &accrued, 1).await;
    assert_eq!(
        rx.paths_starting("/accrued"),
        vec![format!(
            "/accrued/commission.accrued?c={click}&e={event_id}"
        )]
    );
    assert_eq!(a[0]["status"], "sent");
    assert_eq!(a[0]["eventType"], "commission.accrued");
    assert!(a[0]["eventId"].as_str().unwrap().starts_with("evt_"));

    // approve: one GET, every macro (the approved payload lacks click, event, program:
    // they come from the stored commission)
    let ap = t
        .post(&format!("/commissions/{cid}/approve"), json!({}))
        .await;
    assert_eq!(ap.status, 200, "{}", ap.text);
    let a = settled_attempts(&t, &p, &approved, 1).await;
    let want = format!(
        "/approved?click={click}&partner={p}&commission={cid}&amount=40.00&cur=USD&event={event_id}&tx=order%2042%26x%3D1&type=commission.approved&program={prog}&payout="
    );
    assert_eq!(rx.paths_starting("/approved"), vec![want.clone()]);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["status"], "sent");
    assert_eq!(a[0]["httpStatus"], 200);
    assert_eq!(a[0]["error"], Value::Null);
    assert_eq!(a[0]["responseSnippet"], "answer 200");
    assert_eq!(a[0]["url"], format!("{}{want}", rx.base));
    assert!(a[0]["durationMs"].is_u64());
    assert!(a[0]["at"].is_string());
    assert!(rx
        .hits()
        .iter()
        .all(|(_, ua)| ua == "OpenPartner-Postbacks/1"));

    // payout run: commission.paid carries the payout id
    let run = t.post("/payouts/run", json!({})).await;
    assert_eq!(run.status, 200, "{}", run.text);
    let payout = run.body["payouts"][0]["payoutId"]
        .as_str()
        .unwrap()
        .to_owned();
    settled_attempts(&t, &p, &paid, 1).await;
    assert_eq!(
        rx.paths_starting("/paid"),
        vec![format!("/paid?payout={payout}&type=commission.paid")]
    );

    // a disabled postback and another partner's postbacks got nothing
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.paths_starting("/disabled").is_empty(), "{:?}", rx.hits());
    assert!(rx.paths_starting("/other").is_empty(), "{:?}", rx.hits());
    assert!(attempts(&t, &p, &disabled).await.is_empty());
    assert!(attempts(&t, &other, &others).await.is_empty());
    assert_eq!(rx.hits().len(), 3, "{:?}", rx.hits());
}

#[tokio::test]
async fn a_failing_receiver_gets_exactly_one_try() {
    let t = T::new().await;
    let rx = Receiver::start(500).await;
    let c = customer(&t, "fail@example.com").await;
    let p = c.partner.clone();
    let pb = new_postback(
        &t,
        &p,
        &format!("{}/cb?c={{commission_id}}", rx.base),
        &["commission.accrued", "commission.approved"],
        true,
    )
    .await;
    let (_, cid) = buy(&t, &c, "t-1").await;
    let a = settled_attempts(&t, &p, &pb, 1).await;
    assert_eq!(a[0]["status"], "failed");
    assert_eq!(a[0]["httpStatus"], 500);
    assert_eq!(a[0]["error"], "HTTP 500");
    assert_eq!(a[0]["responseSnippet"], "answer 500");
    // no retry: another fan-out adds nothing, and nothing arrives later
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.hits().len(), 1, "{:?}", rx.hits());
    assert_eq!(attempts(&t, &p, &pb).await.len(), 1);

    // the next event is its own single try, oldest first in the log
    let ap = t
        .post(&format!("/commissions/{cid}/approve"), json!({}))
        .await;
    assert_eq!(ap.status, 200, "{}", ap.text);
    let a = settled_attempts(&t, &p, &pb, 2).await;
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["eventType"], "commission.accrued");
    assert_eq!(a[1]["eventType"], "commission.approved");
    assert_eq!(a[1]["httpStatus"], 500);
    assert_eq!(rx.hits().len(), 2);
}

#[tokio::test]
async fn an_ssrf_blocked_target_records_the_block() {
    let mut cfg = openpartner_mock::Config::for_tests(ADMIN);
    cfg.outbound_allow_private_cidrs = vec![];
    let t = T::with(cfg).await;
    let rx = Receiver::start(200).await;
    let c = customer(&t, "ssrf@example.com").await;
    let p = c.partner.clone();
    let pb = new_postback(
        &t,
        &p,
        &format!("{}/cb?c={{commission_id}}", rx.base),
        &["commission.accrued"],
        true,
    )
    .await;
    buy(&t, &c, "t-2").await;
    let a = settled_attempts(&t, &p, &pb, 1).await;
    assert_eq!(a[0]["status"], "failed");
    assert_eq!(a[0]["httpStatus"], Value::Null);
    assert_eq!(a[0]["responseSnippet"], Value::Null);
    let err = a[0]["error"].as_str().unwrap();
    assert!(err.starts_with("blocked: 127.0.0.1"), "{err}");
    assert!(rx.hits().is_empty(), "nothing reached the receiver");
}

#[tokio::test]
async fn a_deleted_postback_gets_nothing() {
    let t = T::new().await;
    let rx = Receiver::start(200).await;
    let c = customer(&t, "del@example.com").await;
    let p = c.partner.clone();
    let keep = new_postback(
        &t,
        &p,
        &format!("{}/keep", rx.base),
        &["commission.accrued"],
        true,
    )
    .await;
    let gone = new_postback(
        &t,
        &p,
        &format!("{}/gone", rx.base),
        &["commission.accrued"],
        true,
    )
    .await;
    assert_eq!(delete(&t, &p, &gone, ADMIN).await.status, 204);
    buy(&t, &c, "t-3").await;
    settled_attempts(&t, &p, &keep, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.paths_starting("/keep"), vec!["/keep".to_string()]);
    assert!(rx.paths_starting("/gone").is_empty(), "{:?}", rx.hits());
}

#[tokio::test]
async fn pending_sends_survive_a_restart_and_an_interrupted_one_is_not_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pb.db").display().to_string();
    let config = || {
        let mut cfg = openpartner_mock::Config::for_tests(ADMIN);
        cfg.db = path.clone();
        cfg
    };
    let rx = Receiver::start(200).await;
    let t = T::with(config()).await;
    let p = t.partner("restart@example.com").await;
    let first = new_postback(
        &t,
        &p,
        &format!("{}/first", rx.base),
        &["commission.accrued"],
        true,
    )
    .await;
    let second = new_postback(
        &t,
        &p,
        &format!("{}/second", rx.base),
        &["commission.accrued"],
        true,
    )
    .await;
    let now = t.srv.state().now_iso();
    let p_for_event = p.clone();
    let T { srv, .. } = t;
    srv.shutdown().await.unwrap();

    // while no server runs: a commission event is recorded, the dispatcher's own drain
    // fans it out into both sends, and a "crash" leaves the oldest one claimed
    // (`sending`) but never answered
    let db = openpartner_mock::db::Db::open(&path).unwrap();
    let claimed = db
        .call(move |c| {
            openpartner_mock::outbox::emit(
                c,
                "01J0000000DEFAULTTENANT0000",
                "commission.accrued",
                json!({"partnerId": p_for_event, "commissionId": "c-restart",
                       "amount": "1.00", "currency": "USD"}),
                &now,
            )?;
            openpartner_mock::webhooks::drain_outbox(c, &now, 100)?;
            Ok(openpartner_mock::store::postbacks::claim_pending(c, 1)?)
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(claimed[0].url.ends_with("/first"), "{claimed:?}");
    drop(db);

    // the restarted server sends the pending one and marks the interrupted one failed
    let t = T::with(config()).await;
    let b = settled_attempts(&t, &p, &second, 1).await;
    assert_eq!(b[0]["status"], "sent");
    let a = attempts(&t, &p, &first).await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["status"], "failed");
    assert!(
        a[0]["error"].as_str().unwrap().starts_with("interrupted"),
        "{a:?}"
    );
    assert_eq!(a[0]["httpStatus"], Value::Null);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let paths: Vec<String> = rx.hits().into_iter().map(|(u, _)| u).collect();
    assert_eq!(paths, vec!["/second".to_string()]);
}

#[tokio::test]
async fn a_postback_never_fires_for_events_older_than_itself() {
    let t = T::new().await;
    let rx = Receiver::start(200).await;
    let c = customer(&t, "late@example.com").await;
    buy(&t, &c, "before").await;
    let pb = new_postback(
        &t,
        &c.partner,
        &format!("{}/late?tx={{transaction_id}}", rx.base),
        &["commission.accrued"],
        true,
    )
    .await;
    // the dispatcher ran (creating the postback woke it) and skipped the older sale
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(rx.hits().is_empty(), "{:?}", rx.hits());
    assert!(attempts(&t, &c.partner, &pb).await.is_empty());
    buy(&t, &c, "after").await;
    let a = settled_attempts(&t, &c.partner, &pb, 1).await;
    assert_eq!(a.len(), 1);
    assert_eq!(
        rx.paths_starting("/late"),
        vec!["/late?tx=after".to_string()]
    );
}
