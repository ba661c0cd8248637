//! [EXT] Idempotency-Key: replay, reuse, in-flight, secrets, what is stored.

use crate::common::*;
use serde_json::{json, Value};

fn post_with_key(
    t: &T,
    path: &str,
    cred: &str,
    key: &str,
    body: &Value,
) -> reqwest::RequestBuilder {
    t.http
        .post(t.url(path))
        .bearer_auth(cred)
        .header("idempotency-key", key)
        .json(body)
}

#[tokio::test]
async fn replay_returns_the_stored_response_once_created() {
    let t = start().await;
    let body = json!({"email": "a@x.co", "name": "A"});
    let first = send(post_with_key(&t, "/partners", ADMIN, "k-1", &body)).await;
    first.assert_status(201);
    assert!(first.header("idempotent-replayed").is_none());
    let second = send(post_with_key(&t, "/partners", ADMIN, "k-1", &body)).await;
    assert_eq!(second.status, 201);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(second.body, first.body);
    assert_eq!(t.sql_i64("SELECT COUNT(*) FROM partners", &[]), 1);
    assert_eq!(t.mailbox().await.len(), 1, "one invite only");

    // same key, different body → 422
    let r = send(post_with_key(
        &t,
        "/partners",
        ADMIN,
        "k-1",
        &json!({"email": "b@x.co", "name": "B"}),
    ))
    .await;
    r.assert_err(422, "idempotency_key_reused");
    // same key, other path → 422
    let id = first.body["id"].as_str().expect("id");
    let r = send(post_with_key(
        &t,
        &format!("/partners/{id}/invite"),
        ADMIN,
        "k-1",
        &body,
    ))
    .await;
    r.assert_err(422, "idempotency_key_reused");

    // keys are per credential: another credential may reuse the string
    let other = t.admin_key().await;
    let r = send(post_with_key(
        &t,
        "/partners",
        &other,
        "k-1",
        &json!({"email": "c@x.co", "name": "C"}),
    ))
    .await;
    r.assert_status(201);
    assert!(r.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn client_errors_are_stored_but_conflicts_are_not() {
    let t = start().await;
    let bad = json!({"email": "nope", "name": "A"});
    let r1 = send(post_with_key(&t, "/partners", ADMIN, "bad-1", &bad)).await;
    r1.assert_err(400, "invalid_body");
    let r2 = send(post_with_key(&t, "/partners", ADMIN, "bad-1", &bad)).await;
    r2.assert_err(400, "invalid_body");
    assert_eq!(r2.header("idempotent-replayed"), Some("true"));

    t.partner("dup@x.co", false).await;
    let dup = json!({"email": "dup@x.co", "name": "D"});
    let r = send(post_with_key(&t, "/partners", ADMIN, "dup-1", &dup)).await;
    r.assert_err(409, "email_taken");
    let r = send(post_with_key(&t, "/partners", ADMIN, "dup-1", &dup)).await;
    r.assert_err(409, "email_taken");
    assert!(
        r.header("idempotent-replayed").is_none(),
        "409 is not stored"
    );
    // 403 is not stored either
    let scoped = t.scoped_key(&["partners:read"]).await;
    let body = json!({"email": "s@x.co", "name": "S"});
    let r = send(post_with_key(&t, "/partners", &scoped, "s-1", &body)).await;
    r.assert_err(403, "forbidden_scope");
    assert_eq!(
        t.sql_i64(
            "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = 's-1'",
            &[]
        ),
        0
    );
}

#[tokio::test]
async fn secret_bearing_responses_are_not_replayed() {
    let t = start().await;
    let r1 = send(post_with_key(
        &t,
        "/api-keys",
        ADMIN,
        "key-1",
        &json!({"label": "x"}),
    ))
    .await;
    let first = r1.assert_status(201).clone();
    let r2 = send(post_with_key(
        &t,
        "/api-keys",
        ADMIN,
        "key-1",
        &json!({"label": "x"}),
    ))
    .await;
    r2.assert_err(409, "idempotency_replay_unavailable");
    assert_eq!(r2.body["detail"], json!({"id": first["id"]}));
    assert_eq!(
        t.sql_i64("SELECT COUNT(*) FROM api_keys", &[]),
        1,
        "no second key"
    );
    // the plaintext is not stored anywhere
    let pt = first["plaintext"].as_str().expect("pt");
    let stored = t.sql_i64(
        "SELECT COUNT(*) FROM idempotency_keys WHERE body IS NOT NULL AND instr(CAST(body AS TEXT), ?1) > 0",
        &[&pt],
    );
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn in_flight_and_expiry() {
    use axum::{http::StatusCode, routing::post, Json};
    use std::sync::Arc;
    use tokio::sync::Notify;
    // A route that holds its request until the test releases it.
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let (s2, r2) = (started.clone(), release.clone());
    let slow = axum::Router::new().route(
        "/slow",
        post(move || {
            let (s2, r2) = (s2.clone(), r2.clone());
            async move {
                s2.notify_one();
                r2.notified().await;
                (StatusCode::CREATED, Json(json!({"ok": true})))
            }
        }),
    );
    let srv = openpartner_mock::spawn_with_routes(openpartner_mock::Config::for_tests(ADMIN), slow)
        .await
        .expect("spawn");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let url = format!("{}/slow", srv.base_url);
    let req = |body: Value| {
        http.post(&url)
            .bearer_auth(ADMIN)
            .header("idempotency-key", "busy")
            .json(&body)
    };
    let first = tokio::spawn(send(req(json!({"n": 1}))));
    started.notified().await;
    send(req(json!({"n": 1})))
        .await
        .assert_err(409, "idempotency_key_in_flight");
    send(req(json!({"n": 2})))
        .await
        .assert_err(422, "idempotency_key_reused");
    release.notify_one();
    let first = first.await.expect("join");
    first.assert_status(201);
    assert!(first.header("idempotent-replayed").is_none());
    let again = send(req(json!({"n": 1}))).await;
    again.assert_status(201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    let t = start().await;
    let body = json!({"email": "a@x.co", "name": "A"});
    // after 24 h a key may be used again
    let r = send(post_with_key(&t, "/partners", ADMIN, "old", &body)).await;
    r.assert_status(201);
    t.srv
        .clock()
        .advance(std::time::Duration::from_secs(24 * 3600 + 1));
    let r = send(post_with_key(&t, "/partners", ADMIN, "old", &body)).await;
    r.assert_err(409, "email_taken");
    assert!(r.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn ignored_when_unauthenticated_or_on_auth_routes() {
    let t = start().await;
    let r = send(
        t.http
            .post(t.url("/partners"))
            .header("idempotency-key", "x")
            .json(&json!({"email": "a@x.co", "name": "A"})),
    )
    .await;
    r.assert_err(401, "unauthorized");
    for _ in 0..2 {
        let r = send(
            t.http
                .post(t.url("/auth/signin"))
                .bearer_auth(ADMIN)
                .header("idempotency-key", "auth-1")
                .json(&json!({"email": "a@x.co"})),
        )
        .await;
        r.assert_status(200);
        assert!(r.header("idempotent-replayed").is_none());
    }
    assert_eq!(t.sql_i64("SELECT COUNT(*) FROM idempotency_keys", &[]), 0);
    // invalid keys are rejected
    let r = send(post_with_key(
        &t,
        "/partners",
        ADMIN,
        &"k".repeat(256),
        &json!({}),
    ))
    .await;
    r.assert_err(400, "invalid_idempotency_key");
}

#[tokio::test]
async fn concurrent_duplicates_create_once() {
    let t = start().await;
    let body = json!({"email": "race@x.co", "name": "R"});
    let futs = (0..8).map(|_| send(post_with_key(&t, "/partners", ADMIN, "race", &body)));
    let results = futures::future::join_all(futs).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let in_flight = results
        .iter()
        .filter(|r| r.code() == "idempotency_key_in_flight")
        .count();
    assert_eq!(
        created + in_flight,
        8,
        "{:?}",
        results.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert!(created >= 1);
    assert_eq!(t.sql_i64("SELECT COUNT(*) FROM partners", &[]), 1);
}

/// Exactly-once across a lost answer: the connection is dropped after the request's job
/// committed and before the response is written (the test hook), so the client sees a
/// transport error and retries with the same key — and gets the stored answer, replayed,
/// with one event in the database. Without the key-in-the-same-job design the retry would
/// record the event a second time.
#[tokio::test]
async fn an_answer_lost_after_the_commit_is_replayed_not_redone() {
    let hooks = openpartner_mock::config::TestHooks::default();
    let h2 = hooks.clone();
    let t = start_with(move |c| c.hooks = h2).await;
    let body = json!({"userId": "u-lost", "type": "purchase", "value": "12.50"});
    hooks.drop_after_commit(1);
    let lost = post_with_key(&t, "/attribution/events", ADMIN, "ev-lost-1", &body)
        .send()
        .await;
    let lost_read = match lost {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(lost_read, "the first answer must be lost");
    assert_eq!(
        t.sql_i64("SELECT COUNT(*) FROM events", &[]),
        1,
        "the write was committed before the answer was lost"
    );
    let again = send(post_with_key(
        &t,
        "/attribution/events",
        ADMIN,
        "ev-lost-1",
        &body,
    ))
    .await;
    again.assert_status(200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        t.sql_i64("SELECT COUNT(*) FROM events", &[]),
        1,
        "not recorded twice"
    );
    let id = again.body["eventId"].as_str().expect("eventId").to_owned();
    assert_eq!(
        t.sql_i64("SELECT COUNT(*) FROM events WHERE id = ?1", &[&id]),
        1
    );
    // A new key is a new event (the hook is spent).
    let other = send(post_with_key(
        &t,
        "/attribution/events",
        ADMIN,
        "ev-lost-2",
        &body,
    ))
    .await;
    other.assert_status(200);
    assert!(other.header("idempotent-replayed").is_none());
    assert_eq!(t.sql_i64("SELECT COUNT(*) FROM events", &[]), 2);
}

/// A keyed request whose job fails with a storable client error leaves none of its writes
/// and records the error: the retry replays it.
#[tokio::test]
async fn a_failed_keyed_job_keeps_nothing_but_its_recorded_error() {
    let t = start().await;
    let body = json!({"email": "dup@x.co", "name": "Dup"});
    send(
        t.http
            .post(t.url("/partners"))
            .bearer_auth(ADMIN)
            .json(&body),
    )
    .await
    .assert_status(201);
    let r1 = send(post_with_key(
        &t,
        "/partners",
        ADMIN,
        "dup-1",
        &json!({"email": "dup@x.co", "name": "Dup", "programIds": ["nope"]}),
    ))
    .await;
    r1.assert_err(400, "unknown_campaign_ids");
    let r2 = send(post_with_key(
        &t,
        "/partners",
        ADMIN,
        "dup-1",
        &json!({"email": "dup@x.co", "name": "Dup", "programIds": ["nope"]}),
    ))
    .await;
    r2.assert_err(400, "unknown_campaign_ids");
    assert_eq!(r2.header("idempotent-replayed"), Some("true"));
    assert_eq!(t.sql_i64("SELECT COUNT(*) FROM partners", &[]), 1);
    assert_eq!(t.sql_i64("SELECT COUNT(*) FROM partner_programs", &[]), 0);
}
