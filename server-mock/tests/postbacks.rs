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
