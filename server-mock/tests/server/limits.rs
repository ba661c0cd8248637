//! Rate limits: global budget, per-credential keying, per-route limits, headers.

use std::time::Duration;

use crate::common::*;
use openpartner_mock::RateLimit;
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
