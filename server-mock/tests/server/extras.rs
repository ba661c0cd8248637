//! [EXT] login links, panics → 500, and routes added through `spawn_with_routes`.

use crate::common::*;
use axum::routing::get;
use serde_json::json;

#[tokio::test]
async fn login_links() {
    let t = start().await;
    let p = t.partner("pending@x.co", true).await;
    let id = p["id"].as_str().expect("id").to_owned();
    let r = t
        .post(
            &format!("/partners/{id}/login-links"),
            Some(ADMIN),
            json!({}),
        )
        .await;
    let b = r.assert_status(201).clone();
    let url = b["url"].as_str().expect("url");
    let prefix = format!("{}/auth/magic?token=opml_", t.srv.base_url);
    assert!(url.starts_with(&prefix), "{url}");
    assert!(b["expiresAt"].as_str().expect("expiresAt").ends_with('Z'));
    let token = url.split("token=").nth(1).expect("token");
    // verifying activates the pending partner, single use
    let (r, _) = t.verify(token).await;
    assert_eq!(r.assert_status(200)["role"], "partner");
    let row = t.get(&format!("/partners/{id}"), Some(ADMIN)).await;
    assert!(row.assert_status(200)["activatedAt"].is_string());
    t.verify(token)
        .await
        .0
        .assert_err(400, "invalid_or_expired_token");

    t.post("/partners/NOPE/login-links", Some(ADMIN), json!({}))
        .await
        .assert_err(404, "not_found");
    let (pid, pkey) = t.partner_with_key("k@x.co").await;
    t.post(
        &format!("/partners/{pid}/login-links"),
        Some(&pkey),
        json!({}),
    )
    .await
    .assert_err(403, "forbidden");
    t.post(
        &format!("/partners/{pid}/revoke"),
        Some(ADMIN),
        json!({"notify": false}),
    )
    .await
    .assert_status(200);
    t.post(
        &format!("/partners/{pid}/login-links"),
        Some(ADMIN),
        json!({}),
    )
    .await
    .assert_err(409, "partner_revoked");

    // replays of a login-link creation never reveal the url again
    let r = send(
        t.http
            .post(t.url(&format!("/partners/{id}/login-links")))
            .bearer_auth(ADMIN)
            .header("idempotency-key", "ll-1"),
    )
    .await;
    r.assert_status(201);
    let r = send(
        t.http
            .post(t.url(&format!("/partners/{id}/login-links")))
            .bearer_auth(ADMIN)
            .header("idempotency-key", "ll-1"),
    )
    .await;
    r.assert_err(409, "idempotency_replay_unavailable");
    assert!(!r.text.contains("opml_"));

    // 30 per minute per tenant (so far: 1 + 1 + 1 (404) + 1 (409) + 1 = 5, forbidden not counted)
    let mut limited = false;
    for _ in 0..30 {
        let r = t
            .post(
                &format!("/partners/{id}/login-links"),
                Some(ADMIN),
                json!({}),
            )
            .await;
        if r.status == 429 {
            r.assert_err(429, "rate_limited");
            assert!(r.header("retry-after").is_some());
            limited = true;
            break;
        }
        r.assert_status(201);
    }
    assert!(limited);
}

#[tokio::test]
async fn login_links_off_without_extensions() {
    let t = start_with(|c| c.extensions = false).await;
    let p = t.partner("a@x.co", false).await;
    let id = p["id"].as_str().expect("id");
    t.post(
        &format!("/partners/{id}/login-links"),
        Some(ADMIN),
        json!({}),
    )
    .await
    .assert_err(404, "route_not_found");
}

async fn boom() -> &'static str {
    panic!("secret internal detail")
}

#[tokio::test]
async fn panics_become_internal_error_without_leaking() {
    let srv = openpartner_mock::spawn_with_routes(
        openpartner_mock::Config::for_tests(ADMIN),
        axum::Router::new().route("/boom", get(boom)),
    )
    .await
    .expect("spawn");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let r = send(
        http.get(format!("{}/boom", srv.base_url))
            .bearer_auth(ADMIN)
            .header("x-request-id", "panic-1"),
    )
    .await;
    r.assert_err(500, "internal_error");
    assert!(!r.text.contains("secret"));
    assert_eq!(r.header("x-request-id"), Some("panic-1"));
    assert!(r.header("openpartner-extensions").is_some());
    // the server keeps serving
    let r = send(http.get(format!("{}/health", srv.base_url))).await;
    r.assert_status(200);
    // extra routes are in the authenticated group
    let r = send(http.get(format!("{}/boom", srv.base_url))).await;
    r.assert_err(500, "internal_error");
}
