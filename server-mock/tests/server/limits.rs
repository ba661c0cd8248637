//! Rate limits: global budget, per-credential keying, per-route limits, headers, and the
//! CORS headers on identify's 429 and other early rejections.

use std::time::Duration;

use crate::common::*;
use openpartner_mock::RateLimit;
use reqwest::Method;
use serde_json::json;

fn small(c: &mut openpartner_mock::Config) {
    c.rate_limit = Some(RateLimit {
        requests: 3,
        window: Duration::from_secs(60),
    });
}

#[tokio::test]
async fn global_limit_headers_and_429() {
    let t = start_with(small).await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = t.get("/partners", Some(ADMIN)).await;
        r.assert_status(200);
        assert_eq!(r.header("ratelimit-policy"), Some("3;w=60"));
        assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
        let rl = r.header("ratelimit").expect("RateLimit").to_owned();
        assert!(rl.starts_with("limit=3, remaining="), "{rl}");
        remaining.push(
            r.header("x-ratelimit-remaining")
                .expect("remaining")
                .to_owned(),
        );
        let reset: u64 = r
            .header("x-ratelimit-reset")
            .expect("reset")
            .parse()
            .expect("unix s");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("time")
            .as_secs();
        assert!(reset >= now && reset <= now + 61, "{reset} vs {now}");
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let r = t.get("/partners", Some(ADMIN)).await;
    r.assert_err(429, "rate_limited");
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("secs");
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert!(r.header("ratelimit").expect("h").contains("remaining=0"));

    // per credential (extensions on): another key still has its budget
    let other = {
        // created through the DB directly: the admin key's budget is spent
        let t2 = &t;
        let key = "op_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let hash = openpartner_mock::util::sha256_hex(key);
        t2.sql(
            "INSERT INTO api_keys (id, tenant_id, kind, prefix, key_hash, created_at) VALUES ('K1', ?1, 'admin', ?2, ?3, '2026-01-01T00:00:00.000Z')",
            &[&DEFAULT_TENANT, &&key[..8], &hash],
        );
        key
    };
    t.get("/partners", Some(other)).await.assert_status(200);
    // unauthenticated requests are limited per IP, separately
    t.get("/partners", None)
        .await
        .assert_err(401, "unauthorized");
    // health is exempt
    for _ in 0..5 {
        let r = t.get("/health", None).await;
        r.assert_status(200);
        assert!(r.header("ratelimit").is_none());
    }
}

#[tokio::test]
async fn base_mode_limits_per_ip() {
    let t = start_with(|c| {
        small(c);
        c.extensions = false;
    })
    .await;
    let key = t.admin_key().await; // request 1
    t.get("/partners", Some(ADMIN)).await.assert_status(200); // 2
    let r = t.get("/partners", Some(&key)).await; // 3
    r.assert_status(200);
    assert!(r.header("x-ratelimit-limit").is_none());
    assert_eq!(
        r.header("ratelimit"),
        Some("limit=3, remaining=0, reset=60")
    );
    let r = t.get("/partners", Some(&key)).await;
    r.assert_err(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
}

#[tokio::test]
async fn signin_is_limited_to_10_per_minute_even_with_global_off() {
    let t = start().await;
    for i in 0..10 {
        t.post("/auth/signin", None, json!({"email": format!("x{i}@x.co")}))
            .await
            .assert_status(200);
    }
    let r = t
        .post("/auth/signin", None, json!({"email": "y@x.co"}))
        .await;
    r.assert_err(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
    // other routes unaffected
    t.get("/partners", Some(ADMIN)).await.assert_status(200);
}

#[tokio::test]
async fn magic_verify_is_limited_to_30_per_minute() {
    let t = start().await;
    for _ in 0..30 {
        t.post("/auth/magic/verify", None, json!({"token": "opml_x"}))
            .await
            .assert_err(400, "invalid_or_expired_token");
    }
    t.post("/auth/magic/verify", None, json!({"token": "opml_x"}))
        .await
        .assert_err(429, "rate_limited");
}

#[tokio::test]
async fn route_limits_can_be_disabled() {
    let t = start_with(|c| c.route_limits = false).await;
    for i in 0..12 {
        t.post("/auth/signin", None, json!({"email": format!("x{i}@x.co")}))
            .await
            .assert_status(200);
    }
}

#[test]
fn rate_limit_flag_parsing() {
    use openpartner_mock::config::parse_rate_limit;
    assert_eq!(parse_rate_limit("off"), Ok(None));
    assert_eq!(
        parse_rate_limit("600/300s"),
        Ok(Some(RateLimit {
            requests: 600,
            window: Duration::from_secs(300)
        }))
    );
    assert_eq!(
        parse_rate_limit("10/1m"),
        Ok(Some(RateLimit {
            requests: 10,
            window: Duration::from_secs(60)
        }))
    );
    assert!(parse_rate_limit("0/10s").is_err());
    assert!(parse_rate_limit("abc").is_err());
    assert!(parse_rate_limit("10/xs").is_err());
    assert!(parse_rate_limit("10/99999999999999999h").is_err());
    assert!(parse_rate_limit("10/0s").is_err());
}

/// `POST /attribution/identify` is called by browsers: every answer must carry CORS
/// headers, including the limiter's 429 (which is made before the route runs), or the page
/// cannot read it. Other routes get no CORS headers.
#[track_caller]
fn assert_cors(r: &Resp, preflight: bool) {
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("*"),
        "status {}: {:?}",
        r.status,
        r.headers
    );
    let exposed = r
        .header("access-control-expose-headers")
        .expect("Access-Control-Expose-Headers");
    for h in [
        "retry-after",
        "ratelimit",
        "x-ratelimit-reset",
        "x-request-id",
    ] {
        assert!(exposed.split(", ").any(|e| e == h), "{h} in {exposed}");
    }
    if preflight {
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some("POST, OPTIONS")
        );
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("content-type")
        );
    } else {
        assert!(r.header("access-control-allow-methods").is_none());
    }
}

fn identify_body(i: usize) -> serde_json::Value {
    json!({"cref": format!("clk_unknown_click_{i:08}"), "userId": "u1"})
}

#[tokio::test]
async fn identify_429_from_the_route_limit_carries_cors() {
    // Global limit off: only identify's own route limit (120/min per IP) applies.
    let t = start().await;
    for i in 0..120 {
        let r = t
            .post("/attribution/identify", None, identify_body(i))
            .await;
        r.assert_err(404, "click_not_found");
        assert_cors(&r, false);
    }
    let r = t
        .post("/attribution/identify", None, identify_body(120))
        .await;
    r.assert_err(429, "rate_limited");
    assert_cors(&r, false);
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("secs");
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(r.header("x-request-id").is_some());
    // The preflight is not counted against the POST budget and stays readable.
    let r = t
        .call(Method::OPTIONS, "/attribution/identify", None, None)
        .await;
    r.assert_status(204);
    assert_cors(&r, true);
}

#[tokio::test]
async fn identify_429_from_a_tiny_global_limit_carries_cors_other_routes_do_not() {
    let t = start_with(|c| {
        c.rate_limit = Some(RateLimit {
            requests: 2,
            window: Duration::from_secs(60),
        });
    })
    .await;
    for i in 0..2 {
        let r = t
            .post("/attribution/identify", None, identify_body(i))
            .await;
        r.assert_err(404, "click_not_found");
        assert_cors(&r, false);
        assert_eq!(r.header("x-ratelimit-limit"), Some("2"));
    }
    let r = t
        .post("/attribution/identify", None, identify_body(2))
        .await;
    r.assert_err(429, "rate_limited");
    assert_cors(&r, false);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert!(r.header("retry-after").is_some());
    // The same IP's budget is spent on an authenticating route too: 429 without CORS.
    let r = t.get("/partners", None).await;
    r.assert_err(429, "rate_limited");
    assert!(r.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn identify_early_rejections_carry_cors() {
    let t = start().await;
    // 405 for another method (with Allow).
    let r = t.get("/attribution/identify", None).await;
    r.assert_err(405, "method_not_allowed");
    assert_cors(&r, false);
    assert!(r.header("allow").is_some_and(|a| a.contains("POST")));
    // 413 over 1 MiB.
    let big = "x".repeat(1024 * 1024 + 10);
    let r = send(
        t.http
            .post(t.url("/attribution/identify"))
            .header("content-type", "application/json")
            .body(format!("{{\"cref\":\"{big}\",\"userId\":\"u\"}}")),
    )
    .await;
    r.assert_err(413, "payload_too_large");
    assert_cors(&r, false);
    // 400 for a non-JSON content type.
    let r = send(
        t.http
            .post(t.url("/attribution/identify"))
            .header("content-type", "text/plain")
            .body("cref=x"),
    )
    .await;
    r.assert_err(400, "invalid_body");
    assert_cors(&r, false);
    // Other routes answer without CORS headers.
    let r = t.post("/attribution/events", None, json!({})).await;
    r.assert_err(401, "unauthorized");
    assert!(r.header("access-control-allow-origin").is_none());
    assert!(r.header("access-control-expose-headers").is_none());

    // Multi mode: identify without a tenant prefix → 400 tenant_slug_missing, with CORS;
    // with the prefix the route answers as usual.
    let t = start_with(|c| {
        c.tenancy = openpartner_mock::Tenancy::Multi;
        c.tenants = vec!["acme".into()];
    })
    .await;
    let r = send(
        t.http
            .post(format!("{}/attribution/identify", t.srv.base_url))
            .json(&identify_body(0)),
    )
    .await;
    r.assert_err(400, "tenant_slug_missing");
    assert_cors(&r, false);
    let r = t
        .post("/attribution/identify", None, identify_body(0))
        .await;
    r.assert_err(404, "click_not_found");
    assert_cors(&r, false);
    // An unknown tenant slug is answered by tenant resolution, before the router: still CORS.
    let r = send(
        t.http
            .post(format!("{}/t/nope/attribution/identify", t.srv.base_url))
            .json(&identify_body(0)),
    )
    .await;
    r.assert_err(404, "route_not_found");
    assert_cors(&r, false);
    let r = send(
        t.http
            .post(format!("{}/t/nope/partners", t.srv.base_url))
            .json(&json!({})),
    )
    .await;
    r.assert_err(404, "route_not_found");
    assert!(r.header("access-control-allow-origin").is_none());
}
