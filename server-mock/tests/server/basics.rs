//! Health, error shapes, request ids, the extensions header, body limits.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn health_is_open_and_exact() {
    let t = start().await;
    let r = t.get("/health", None).await;
    assert_eq!(
        r.assert_status(200),
        &json!({"ok": true, "service": "api", "mode": "selfhost"})
    );
    assert!(
        r.header("ratelimit").is_none(),
        "health is not rate limited"
    );
    assert_eq!(r.header("x-request-id").map(str::len), Some(26));
}

#[tokio::test]
async fn request_id_is_echoed_or_minted() {
    let t = start().await;
    let r = send(
        t.http
            .get(t.url("/health"))
            .header("x-request-id", "abc-123"),
    )
    .await;
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
    let long = "x".repeat(129);
    let r = send(t.http.get(t.url("/health")).header("x-request-id", &long)).await;
    let id = r.header("x-request-id").expect("request id");
    assert_ne!(id, long);
    assert_eq!(id.len(), 26);
    let ok128 = "y".repeat(128);
    let r = send(t.http.get(t.url("/nope")).header("x-request-id", &ok128)).await;
    assert_eq!(r.header("x-request-id"), Some(ok128.as_str()));
    // also on errors and on authenticated routes
    let r = send(
        t.http
            .get(t.url("/partners"))
            .header("x-request-id", "rid-2"),
    )
    .await;
    r.assert_err(401, "unauthorized");
    assert_eq!(r.header("x-request-id"), Some("rid-2"));
}

#[tokio::test]
async fn unknown_route_and_wrong_method() {
    let t = start().await;
    t.get("/nope", Some(ADMIN))
        .await
        .assert_err(404, "route_not_found");
    t.get("/partners/x/y/z", None)
        .await
        .assert_err(404, "route_not_found");
    let r = t.delete("/partners", Some(ADMIN)).await;
    r.assert_err(405, "method_not_allowed");
    let allow = r
        .header("allow")
        .expect("Allow header")
        .to_ascii_uppercase();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    // a path parameter that is not UTF-8 still gets the JSON error shape
    let r = t.get("/partners/%FF", Some(ADMIN)).await;
    r.assert_err(400, "invalid_request");
    let r = t.post("/health", None, json!({})).await;
    r.assert_err(405, "method_not_allowed");
    assert!(r.header("allow").expect("allow").contains("GET"));
}

#[tokio::test]
async fn malformed_json_wrong_type_and_missing_fields() {
    let t = start().await;
    let r = send(
        t.http
            .post(t.url("/partners"))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    r.assert_err(400, "invalid_body");
    assert_eq!(
        r.body["detail"]["formErrors"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(r.body["detail"]["fieldErrors"].is_object());

    let r = send(
        t.http
            .post(t.url("/partners"))
            .bearer_auth(ADMIN)
            .header("content-type", "text/plain")
            .body(r#"{"email":"a@b.co","name":"A"}"#),
    )
    .await;
    r.assert_err(400, "invalid_body");

    // charset parameter is fine
    let r = send(
        t.http
            .post(t.url("/partners"))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json; charset=utf-8")
            .body(r#"{"email":"a@b.co","name":"A","unknownField":1}"#),
    )
    .await;
    r.assert_status(201);

    let r = t.post("/partners", Some(ADMIN), json!({"name": "x"})).await;
    r.assert_err(400, "invalid_body");
    assert_eq!(
        r.body["detail"]["fieldErrors"]["email"],
        json!(["Required"])
    );
    assert_eq!(r.body["detail"]["formErrors"], json!([]));

    let r = t
        .post(
            "/partners",
            Some(ADMIN),
            json!({"email": "bad", "name": "x"}),
        )
        .await;
    r.assert_err(400, "invalid_body");
    assert!(r.body["detail"]["fieldErrors"]["email"].is_array());

    let r = t
        .post("/partners", Some(ADMIN), json!({"email": 5, "name": "x"}))
        .await;
    r.assert_err(400, "invalid_body");
    assert!(r.body["detail"]["fieldErrors"]["email"].is_array());
}

#[tokio::test]
async fn body_over_one_mib_is_413() {
    let t = start().await;
    let make = |email: &str, total: usize| {
        let skeleton = format!(r#"{{"email":"{email}","name":"A","p":""}}"#);
        let pad = "a".repeat(total - skeleton.len());
        let body = format!(r#"{{"email":"{email}","name":"A","p":"{pad}"}}"#);
        assert_eq!(body.len(), total);
        body
    };
    let post = |body: String, idem: Option<&str>| {
        let mut rb = t
            .http
            .post(t.url("/partners"))
            .bearer_auth(ADMIN)
            .header("content-type", "application/json")
            .body(body);
        if let Some(k) = idem {
            rb = rb.header("idempotency-key", k);
        }
        rb
    };
    send(post(make("a@b.co", 1024 * 1024 + 1), None))
        .await
        .assert_err(413, "payload_too_large");
    // exactly 1 MiB is accepted
    send(post(make("a@b.co", 1024 * 1024), None))
        .await
        .assert_status(201);
    // the idempotency middleware path enforces it too
    send(post(make("b@b.co", 1024 * 1024 + 1), Some("big")))
        .await
        .assert_err(413, "payload_too_large");
}

#[tokio::test]
async fn extensions_header_lists_implemented_extensions() {
    let t = start().await;
    let r = t.get("/health", None).await;
    let ext = r
        .header("openpartner-extensions")
        .expect("header")
        .to_owned();
    let list: Vec<&str> = ext.split(',').map(str::trim).collect();
    for e in ["idempotency", "external-id", "ip-allowlist", "login-links"] {
        assert!(list.contains(&e), "{ext}");
    }
    // for_tests turns the global limiter off, so rate-limit-headers is not advertised
    assert!(!list.contains(&"rate-limit-headers"), "{ext}");
    // every response carries it, errors included
    let r = t.get("/nope", None).await;
    assert!(r.header("openpartner-extensions").is_some());

    let t = start_with(|c| c.rate_limit = Some(openpartner_mock::RateLimit::default())).await;
    let r = t.get("/health", None).await;
    assert!(r
        .header("openpartner-extensions")
        .expect("h")
        .contains("rate-limit-headers"));
}

#[tokio::test]
async fn no_extensions_means_base_api() {
    let t = start_with(|c| {
        c.extensions = false;
        c.rate_limit = Some(openpartner_mock::RateLimit::default());
    })
    .await;
    let r = t.get("/health", None).await;
    assert!(r.header("openpartner-extensions").is_none());

    // externalId ignored and not part of the row
    let r = t
        .post(
            "/partners",
            Some(ADMIN),
            json!({"email": "a@b.co", "name": "A", "externalId": "crm-1"}),
        )
        .await;
    let body = r.assert_status(201);
    assert!(body.get("externalId").is_none(), "{body}");
    assert!(r.header("x-ratelimit-limit").is_none());
    assert_eq!(r.header("ratelimit-policy"), Some("600;w=300"));
    t.get("/partners/by-external-id/crm-1", Some(ADMIN))
        .await
        .assert_err(404, "route_not_found");

    // allowedIps ignored: the key works from anywhere and is not echoed
    let r = t
        .post(
            "/api-keys",
            Some(ADMIN),
            json!({"allowedIps": ["10.0.0.0/8"]}),
        )
        .await;
    let body = r.assert_status(201).clone();
    assert!(body.get("allowedIps").is_none());
    let key = body["plaintext"].as_str().expect("key");
    t.get("/partners", Some(key)).await.assert_status(200);

    // Idempotency-Key ignored: the second POST is a real second request
    let mk = || {
        t.http
            .post(t.url("/partners"))
            .bearer_auth(ADMIN)
            .header("idempotency-key", "k1")
            .json(&json!({"email": "dup@b.co", "name": "D"}))
    };
    send(mk()).await.assert_status(201);
    let r = send(mk()).await;
    r.assert_err(409, "email_taken");
    assert!(r.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn auth_header_rules() {
    let t = start().await;
    // non-Bearer scheme → 401 even with a valid cookie
    let (_, session) = t.partner_session("p@x.co").await;
    let r = send(
        t.http
            .get(t.url("/auth/whoami"))
            .header("authorization", format!("Basic {ADMIN}"))
            .header("cookie", format!("op_session={session}")),
    )
    .await;
    r.assert_err(401, "unauthorized");
    // case-insensitive scheme
    let r = send(
        t.http
            .get(t.url("/auth/whoami"))
            .header("authorization", format!("bEaReR {ADMIN}")),
    )
    .await;
    assert_eq!(r.assert_status(200)["source"], "env");
    // unknown key
    let r = t
        .get(
            "/auth/whoami",
            Some("op_000000000000000000000000000000000000000000000000"),
        )
        .await;
    r.assert_err(401, "unauthorized");
    let r = t.get("/auth/whoami", Some("garbage")).await;
    r.assert_err(401, "unauthorized");
}
