//! Retry behaviour of the executor, against wiremock.

mod common;

use std::time::{Duration, Instant};

use common::*;
use openpartner::{Client, Error, RetryPolicy};
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

async fn mount_failures_then_ok(
    server: &MockServer,
    m: &str,
    p: &str,
    fail: Echo,
    times: u64,
    ok: Echo,
) {
    route(m, p)
        .respond_with(fail)
        .up_to_n_times(times)
        .mount(server)
        .await;
    mount(server, m, p, ok).await;
}

fn all_same<'a>(reqs: &'a [wiremock::Request], name: &str) -> &'a str {
    let first = header(&reqs[0], name).unwrap();
    for r in reqs {
        assert_eq!(
            header(r, name),
            Some(first),
            "{name} differs across attempts"
        );
    }
    first
}

#[tokio::test]
async fn get_retries_503_with_same_request_id() {
    let server = common::server().await;
    mount_failures_then_ok(
        &server,
        "GET",
        "/partners/p1",
        echo(503, json!({"error":"unavailable"})),
        2,
        echo(200, partner_json("p1", "a@b.c")),
    )
    .await;
    let p = client(&server).partners().get("p1").await.unwrap();
    assert_eq!(p.id, "p1");
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 3);
    all_same(&reqs, "x-request-id");
}

#[tokio::test]
async fn gives_up_after_max_retries() {
    let server = common::server().await;
    mount(
        &server,
        "GET",
        "/partners/p1",
        echo(502, json!({"error":"bad_gateway"})),
    )
    .await;
    let err = client(&server).partners().get("p1").await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(requests(&server).await.len(), 4, "1 attempt + 3 retries");
}

#[tokio::test]
async fn post_not_resent_after_503_without_idempotency_extension() {
    let server = common::server().await;
    // The 503 itself says "no extensions" (no header): never resend a POST that may have arrived.
    mount_failures_then_ok(
        &server,
        "POST",
        "/partners",
        echo(503, json!({"error":"unavailable"})),
        1,
        echo(201, json!({})),
    )
    .await;
    let err = client(&server)
        .partners()
        .create("a@b.c", "A")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn post_resent_after_503_with_idempotency_extension_same_key() {
    let server = common::server().await;
    let mut row = partner_json("p1", "a@b.c");
    row["invited"] = json!(true);
    mount_failures_then_ok(
        &server,
        "POST",
        "/partners",
        echo_ext(503, json!({"error":"unavailable"}), "idempotency"),
        2,
        echo_ext(201, row, "idempotency"),
    )
    .await;
    let created = client(&server)
        .partners()
        .create("a@b.c", "A")
        .send()
        .await
        .unwrap();
    assert_eq!(created.partner.id, "p1");
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 3);
    let key = all_same(&reqs, "idempotency-key");
    assert_eq!(key.len(), 26);
    all_same(&reqs, "x-request-id");
    for r in &reqs {
        assert_eq!(body_json(r), json!({"email":"a@b.c","name":"A"}));
    }
}

#[tokio::test]
async fn post_resent_after_429_even_without_extension() {
    let server = common::server().await;
    let mut row = partner_json("p1", "a@b.c");
    row["invited"] = json!(true);
    mount_failures_then_ok(
        &server,
        "POST",
        "/partners",
        echo(429, json!({"error":"rate_limited"})),
        1,
        echo(201, row),
    )
    .await;
    client(&server)
        .partners()
        .create("a@b.c", "A")
        .idempotency_key("k-1")
        .send()
        .await
        .unwrap();
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 2);
    assert_eq!(all_same(&reqs, "idempotency-key"), "k-1");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = common::server().await;
    route("GET", "/admins")
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(json!({"error":"rate_limited"}))
                .insert_header("retry-after", "1"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount(&server, "GET", "/admins", echo(200, json!({"admins":[]}))).await;
    let c = client(&server);
    let start = Instant::now();
    let admins = c.admins().list().await.unwrap();
    let elapsed = start.elapsed();
    assert!(admins.is_empty());
    assert!(
        elapsed >= Duration::from_millis(950),
        "waited only {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "waited {elapsed:?}");
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn retry_after_beyond_cap_gives_up_with_the_429() {
    let server = common::server().await;
    mount(
        &server,
        "GET",
        "/admins",
        ResponseTemplate::new(429)
            .set_body_json(json!({"error":"rate_limited"}))
            .insert_header("retry-after", "120"),
    )
    .await;
    let start = Instant::now();
    let err = client(&server).admins().list().await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn no_retry_on_final_4xx() {
    for status in [400u16, 401, 403, 404, 409, 422] {
        let server = common::server().await;
        mount(
            &server,
            "GET",
            "/admins",
            echo(status, json!({"error":"x"})),
        )
        .await;
        mount(
            &server,
            "POST",
            "/admins",
            echo(status, json!({"error":"x"})),
        )
        .await;
        let c = client(&server);
        assert_eq!(c.admins().list().await.unwrap_err().status(), Some(status));
        assert_eq!(
            c.admins().create("a@b.c", "A").await.unwrap_err().status(),
            Some(status)
        );
        assert_eq!(
            requests(&server).await.len(),
            2,
            "status {status} must not be retried"
        );
    }
}

#[tokio::test]
async fn get_500_and_408_are_retried_but_post_500_is_not() {
    for (status, error) in [(500u16, "internal_error"), (408, "timeout")] {
        let server = common::server().await;
        mount_failures_then_ok(
            &server,
            "GET",
            "/admins",
            echo(status, json!({ "error": error })),
            1,
            echo(200, json!({"admins":[]})),
        )
        .await;
        client(&server).admins().list().await.unwrap();
        assert_eq!(requests(&server).await.len(), 2, "GET {status} is retried");
    }

    let server = common::server().await;
    mount_failures_then_ok(
        &server,
        "POST",
        "/admins",
        echo_ext(500, json!({"error":"internal_error"}), "rate-limit-headers"),
        1,
        echo(201, json!({})),
    )
    .await;
    let err = client(&server)
        .admins()
        .create("a@b.c", "A")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn unauthenticated_post_is_not_resent_after_503_even_with_extension() {
    // Idempotency keys are ignored on /auth/*: a resend would not be deduplicated.
    let server = common::server().await;
    mount_failures_then_ok(
        &server,
        "POST",
        "/auth/signin",
        echo_ext(503, json!({"error":"x"}), "idempotency"),
        1,
        echo(200, json!({"ok":true})),
    )
    .await;
    let err = client(&server).auth().signin("a@b.c").await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn retry_none_disables_retries() {
    let server = common::server().await;
    mount_failures_then_ok(
        &server,
        "GET",
        "/admins",
        echo(503, json!({"error":"x"})),
        1,
        echo(200, json!({"admins":[]})),
    )
    .await;
    let c = admin_builder(&server)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    assert_eq!(c.admins().list().await.unwrap_err().status(), Some(503));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn connection_refused_is_a_not_sent_transport_error() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry(fast_retry().max_retries(2))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = c.health().await.unwrap_err();
    match &err {
        Error::Transport {
            may_have_been_sent,
            request_id,
            message,
        } => {
            assert!(!may_have_been_sent, "{message}");
            assert!(request_id.is_some());
        }
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn timeout_after_sending_is_reported() {
    let server = common::server().await;
    mount(
        &server,
        "POST",
        "/admins",
        ResponseTemplate::new(201)
            .set_body_json(json!({}))
            .set_delay(Duration::from_millis(500)),
    )
    .await;
    let c = admin_builder(&server)
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = c.admins().create("a@b.c", "A").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                may_have_been_sent: true,
                ..
            }
        ),
        "{err:?}"
    );
    // A POST that may have arrived on a server without `idempotency` is not resent.
    assert_eq!(requests(&server).await.len(), 1);
}

/// [`RetryPolicy::bulk`] with test-sized waits.
fn fast_bulk() -> RetryPolicy {
    RetryPolicy::bulk()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
        .no_jitter()
}

#[tokio::test]
async fn bulk_policy_on_one_request_waits_out_more_429s_than_the_default_allows() {
    let server = common::server().await;
    let mut row = partner_json("p1", "a@b.c");
    row["invited"] = json!(true);
    // 8 throttled answers: the client's default (3 retries) would give up.
    mount_failures_then_ok(
        &server,
        "POST",
        "/partners",
        echo(429, json!({"error":"rate_limited"})),
        8,
        echo(201, row),
    )
    .await;
    let c = client(&server);
    let err = c
        .partners()
        .create("a@b.c", "A")
        .idempotency_key("k-1")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(requests(&server).await.len(), 4, "default: 1 + 3 retries");

    let created = c
        .partners()
        .create("a@b.c", "A")
        .idempotency_key("k-1")
        .retry(fast_bulk())
        .send()
        .await
        .unwrap();
    assert_eq!(created.partner.id, "p1");
    let reqs = requests(&server).await;
    assert_eq!(
        reqs.len(),
        4 + 5,
        "the remaining 4 throttled answers, then the 201"
    );
    assert_eq!(all_same(&reqs[4..], "idempotency-key"), "k-1");
    // The per-request policy did not change the client's.
    assert_eq!(c.retry_policy().retries(), 3);
}

#[tokio::test]
async fn bulk_policy_stops_at_its_rate_limit_budget() {
    let server = common::server().await;
    mount(
        &server,
        "GET",
        "/admins",
        ResponseTemplate::new(429)
            .set_body_json(json!({"error":"rate_limited"}))
            .insert_header("retry-after", "1"),
    )
    .await;
    let c = client(&server).with_retry(fast_bulk().rate_limit_budget(Duration::from_secs(2)));
    let start = Instant::now();
    let err = c.admins().list().await.unwrap_err();
    assert!(err.is_rate_limited());
    // Two 1 s waits fit into the 2 s budget, a third does not.
    assert_eq!(requests(&server).await.len(), 3);
    assert!(start.elapsed() >= Duration::from_millis(1900));
}

#[tokio::test]
async fn bulk_policy_waits_while_the_key_is_in_flight() {
    let server = common::server().await;
    let mut row = partner_json("p1", "a@b.c");
    row["invited"] = json!(true);
    mount_failures_then_ok(
        &server,
        "POST",
        "/partners",
        echo_ext(
            409,
            json!({"error":"idempotency_key_in_flight"}),
            "idempotency",
        ),
        3,
        echo_ext(201, row, "idempotency"),
    )
    .await;
    let c = client(&server);
    // The default policy returns the 409 at once.
    let err = c
        .partners()
        .create("a@b.c", "A")
        .idempotency_key("k-2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("idempotency_key_in_flight"));
    assert_eq!(requests(&server).await.len(), 1);
    let created = c
        .partners()
        .create("a@b.c", "A")
        .idempotency_key("k-2")
        .retry(fast_bulk())
        .send()
        .await
        .unwrap();
    assert_eq!(created.partner.id, "p1");
    assert_eq!(requests(&server).await.len(), 1 + 3);
}

#[tokio::test]
async fn other_409s_are_final_even_in_bulk() {
    let server = common::server().await;
    mount(
        &server,
        "POST",
        "/partners",
        echo_ext(409, json!({"error":"email_taken"}), "idempotency"),
    )
    .await;
    let err = client(&server)
        .partners()
        .create("a@b.c", "A")
        .retry(fast_bulk())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("email_taken"));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn bulk_policy_never_resends_a_post_without_idempotency() {
    let server = common::server().await;
    mount_failures_then_ok(
        &server,
        "POST",
        "/partners",
        echo(503, json!({"error":"unavailable"})),
        1,
        echo(201, json!({})),
    )
    .await;
    let err = client(&server)
        .partners()
        .create("a@b.c", "A")
        .retry(fast_bulk())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(requests(&server).await.len(), 1);
}
