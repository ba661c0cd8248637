//! Request-contract checks: every body must be a JSON object (generated from the OpenAPI
//! document plus the body-taking routes known today), every bad field is reported, error
//! messages carry no Rust type names, and the fallbacks' 404/405 carry the RateLimit
//! headers of the app-wide limiter.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::*;
use openpartner_mock::RateLimit;
use reqwest::Method;
use serde_json::{json, Value};

/// Body-taking operations that exist whether or not their module is in the OpenAPI
/// document yet (the document adds every other one).
const KNOWN_BODY_ROUTES: &[(&str, &str)] = &[
    ("POST", "/partners"),
    ("POST", "/partners/{id}/revoke"),
    ("POST", "/partners/{id}/api-keys"),
    ("POST", "/partners/{id}/campaigns"),
    ("PUT", "/partners/{id}/commission-snapshot"),
    ("POST", "/partners/{id}/links"),
    ("POST", "/admins"),
    ("POST", "/api-keys"),
    ("POST", "/api-keys/scoped"),
    ("POST", "/auth/signin"),
    ("POST", "/auth/magic/verify"),
    ("POST", "/programs"),
    ("PATCH", "/programs/{id}"),
    ("POST", "/attribution/events"),
    ("POST", "/attribution/identify"),
    ("POST", "/clicks"),
];

/// (method, path template) of every operation of the document with a requestBody.
fn documented_body_routes() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(openpartner_mock::routes::openapi()).expect("doc as json");
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
        for method in ["post", "put", "patch", "delete", "get"] {
            if item[method]["requestBody"].is_object() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// A path with its `{params}` filled: the partner's real id for `/partners/{id}…`, a
/// dummy elsewhere (the body is rejected before any lookup).
fn fill(path: &str, partner_id: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find('}').map(|e| i + e + 1).unwrap_or(rest.len());
        let name = &rest[i + 1..end - 1];
        if name == "id" && out.starts_with("/partners/") {
            out.push_str(partner_id);
        } else {
            out.push_str("fixture-0000000001");
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn every_body_route_rejects_non_object_json() {
    let t = start().await;
    // [EXT] /platform/* exists only in multi mode: its routes are tried there (no tenant
    // prefix), with the platform key.
    let multi = start_with(|c| {
        c.tenancy = openpartner_mock::Tenancy::Multi;
        c.platform_key = Some("platform-key".into());
    })
    .await;
    let partner = t.partner("contract@example.com", false).await;
    let pid = partner["id"].as_str().expect("partner id").to_owned();
    let mut routes: BTreeSet<(String, String)> = KNOWN_BODY_ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    routes.extend(documented_body_routes());
    let mut checked = 0;
    for (method, path) in &routes {
        let url = fill(path, &pid);
        for body in [
            json!(["zed@example.com", "Zed"]),
            json!([]),
            json!("a string"),
            json!(42),
            Value::Null,
        ] {
            let m = Method::from_bytes(method.as_bytes()).expect("method");
            let (full, key) = if url.starts_with("/platform/") {
                (format!("{}{url}", multi.srv.base_url), "platform-key")
            } else {
                (t.url(&url), ADMIN)
            };
            let rb = t
                .http
                .request(m, full)
                .bearer_auth(key)
                .header("content-type", "application/json")
                .body(body.to_string());
            let r = send(rb).await;
            assert!(
                r.status == 400 && r.code() == "invalid_body",
                "{method} {url} with {body}: {} {}",
                r.status,
                r.text
            );
            assert_eq!(
                r.body["detail"]["formErrors"],
                json!(["Expected a JSON object"]),
                "{method} {url} with {body}"
            );
            checked += 1;
        }
    }
    assert!(checked >= KNOWN_BODY_ROUTES.len() * 5);
    // nothing was created by position
    let r = t.get("/partners?email=zed@example.com", Some(ADMIN)).await;
    r.assert_status(200);
    assert!(!r.text.contains("zed@example.com"), "{}", r.text);
}

#[tokio::test]
async fn every_missing_field_is_reported() {
    let t = start().await;
    for path in ["/partners", "/admins"] {
        let r = t.post(path, Some(ADMIN), json!({})).await;
        r.assert_err(400, "invalid_body");
        let f = &r.body["detail"]["fieldErrors"];
        assert_eq!(f["email"], json!(["Required"]), "{path}: {}", r.text);
        assert_eq!(f["name"], json!(["Required"]), "{path}: {}", r.text);
    }
    // a type error and a missing field together; plain words only
    let r = t
        .post(
            "/partners",
            Some(ADMIN),
            json!({"email": 5, "sendInvite": "yes", "programIds": "p1"}),
        )
        .await;
    r.assert_err(400, "invalid_body");
    let f = r.body["detail"]["fieldErrors"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let keys: BTreeSet<&str> = f.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["email", "name", "programIds", "sendInvite"]),
        "{}",
        r.text
    );
    for rust in [
        "struct",
        "CreateBody",
        "Vec",
        "Option",
        "u32",
        "i64",
        "bool`",
    ] {
        assert!(!r.text.contains(rust), "{rust} in {}", r.text);
    }
    let r = t
        .post(
            "/api-keys/scoped",
            Some(ADMIN),
            json!({"label": 5, "scopes": 1}),
        )
        .await;
    r.assert_err(400, "invalid_body");
    assert!(
        r.body["detail"]["fieldErrors"]["label"].is_array(),
        "{}",
        r.text
    );
    assert!(
        r.body["detail"]["fieldErrors"]["scopes"].is_array(),
        "{}",
        r.text
    );
    // an empty body is still `{}`
    let r = send(t.http.post(t.url("/api-keys")).bearer_auth(ADMIN)).await;
    r.assert_status(201);
}

fn limited(c: &mut openpartner_mock::Config) {
    c.rate_limit = Some(RateLimit {
        requests: 4,
        window: Duration::from_secs(60),
    });
}

#[tokio::test]
async fn fallbacks_carry_rate_limit_headers() {
    let t = start_with(limited).await;
    let not_found = t.get("/no-such-route", Some(ADMIN)).await;
    not_found.assert_err(404, "route_not_found");
    let wrong_method = t
        .call(Method::PUT, "/admins", Some(ADMIN), Some(json!({})))
        .await;
    wrong_method.assert_err(405, "method_not_allowed");
    for r in [&not_found, &wrong_method] {
        assert_eq!(
            r.header("ratelimit-policy"),
            Some("4;w=60"),
            "{:?}",
            r.headers
        );
        assert!(
            r.header("ratelimit")
                .is_some_and(|h| h.starts_with("limit=4, remaining=")),
            "{:?}",
            r.headers
        );
        assert_eq!(r.header("x-ratelimit-limit"), Some("4"));
    }
    // each counted once
    assert_eq!(not_found.header("x-ratelimit-remaining"), Some("3"));
    assert_eq!(wrong_method.header("x-ratelimit-remaining"), Some("2"));
    t.get("/nope", None)
        .await
        .assert_err(404, "route_not_found");
    t.get("/nope", None)
        .await
        .assert_err(404, "route_not_found");
    let r = t.get("/nope", None).await;
    r.assert_err(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
    // health stays outside the limiter
    let r = t.get("/health", None).await;
    r.assert_status(200);
    assert!(r.header("ratelimit").is_none());
}
