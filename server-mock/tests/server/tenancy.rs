//! Tenancy: single mode prefixes, multi mode resolution and isolation.

use crate::common::*;
use openpartner_mock::Tenancy;
use serde_json::json;

fn multi(c: &mut openpartner_mock::Config) {
    c.tenancy = Tenancy::Multi;
    c.tenants = vec!["acme".into(), "beta".into()];
}

#[tokio::test]
async fn single_mode_rejects_tenant_prefixes() {
    let t = start().await;
    t.get("/t/acme/partners", Some(ADMIN))
        .await
        .assert_err(404, "route_not_found");
    t.get("/api/t/default/health", None)
        .await
        .assert_err(404, "route_not_found");
    t.get("/partners", Some(ADMIN)).await.assert_status(200);
}

#[tokio::test]
async fn multi_mode_routes_and_errors() {
    let t = start_with(multi).await; // base = /t/acme
    let root = t.srv.base_url.clone();
    let http = &t.http;
    // no tenant → 400 tenant_slug_missing, authenticated or not
    let r = send(http.get(format!("{root}/partners")).bearer_auth(ADMIN)).await;
    r.assert_err(400, "tenant_slug_missing");
    assert!(r.body["detail"]
        .as_str()
        .expect("detail")
        .contains("/api/t/<slug>"));
    send(http.get(format!("{root}/partners")))
        .await
        .assert_err(400, "tenant_slug_missing");
    send(
        http.post(format!("{root}/auth/signin"))
            .json(&json!({"email": "a@x.co"})),
    )
    .await
    .assert_err(400, "tenant_slug_missing");
    // health needs no tenant; unknown routes stay 404
    send(http.get(format!("{root}/health")))
        .await
        .assert_status(200);
    send(http.get(format!("{root}/nope")))
        .await
        .assert_err(404, "route_not_found");
    // unknown, reserved, malformed slugs → 404 route_not_found
    for slug in ["nope", "default", "admin", "platform", "Acme", "a_b"] {
        send(
            http.get(format!("{root}/t/{slug}/partners"))
                .bearer_auth(ADMIN),
        )
        .await
        .assert_err(404, "route_not_found");
    }
    // both prefixes work
    t.get("/partners", Some(ADMIN)).await.assert_status(200);
    let r = send(
        http.get(format!("{root}/api/t/acme/partners"))
            .bearer_auth(ADMIN),
    )
    .await;
    r.assert_status(200);
    // tenant routes under a prefix keep their query strings
    t.get("/partners?limit=0", Some(ADMIN))
        .await
        .assert_err(400, "invalid_query");
}

#[tokio::test]
async fn tenants_are_isolated() {
    let t = start_with(multi).await;
    let root = t.srv.base_url.clone();
    let beta = |p: &str| format!("{root}/t/beta{p}");
    let p = t.partner("a@x.co", true).await;
    assert_ne!(p["tenantId"], DEFAULT_TENANT);
    let pid = p["id"].as_str().expect("id").to_owned();
    // same email is free in another tenant
    let r = send(
        t.http
            .post(beta("/partners"))
            .bearer_auth(ADMIN)
            .json(&json!({"email": "a@x.co", "name": "B"})),
    )
    .await;
    let bp = r.assert_status(201).clone();
    assert_ne!(bp["tenantId"], p["tenantId"]);
    // resources of acme are invisible from beta
    send(
        t.http
            .get(beta(&format!("/partners/{pid}")))
            .bearer_auth(ADMIN),
    )
    .await
    .assert_err(404, "not_found");
    // acme's keys and sessions are 401 on beta
    let acme_admin = t.admin_key().await;
    send(t.http.get(beta("/partners")).bearer_auth(&acme_admin))
        .await
        .assert_err(401, "unauthorized");
    let (me, pkey) = t.partner_with_key("k@x.co").await;
    send(
        t.http
            .get(beta(&format!("/partners/{me}")))
            .bearer_auth(&pkey),
    )
    .await
    .assert_err(401, "unauthorized");
    let scoped = t.scoped_key(&["partners:read"]).await;
    send(t.http.get(beta("/partners")).bearer_auth(&scoped))
        .await
        .assert_err(401, "unauthorized");
    // magic links carry the tenant prefix and only verify in their tenant
    let mail = t.mailbox().await;
    let url = mail[0]["metadata"]["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("{root}/t/acme/auth/magic?token=opml_")),
        "{url}"
    );
    let token = mail[0]["metadata"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    send(
        t.http
            .post(beta("/auth/magic/verify"))
            .json(&json!({"token": token})),
    )
    .await
    .assert_err(400, "invalid_or_expired_token");
    let (r, session) = t.verify(&token).await;
    r.assert_status(200);
    let session = session.expect("session");
    send(
        t.http
            .get(beta("/auth/whoami"))
            .header("cookie", format!("op_session={session}")),
    )
    .await
    .assert_err(401, "unauthorized");
    t.get("/auth/whoami", Some(&session))
        .await
        .assert_status(200);
    // mailboxes are per tenant
    let r = send(t.http.get(beta("/dev/mailbox")).bearer_auth(ADMIN)).await;
    assert_eq!(
        r.assert_status(200)["messages"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn portal_url_is_used_in_links() {
    let t = start_with(|c| c.portal_url = Some("https://portal.example/".into())).await;
    t.partner("a@x.co", true).await;
    let mail = t.mailbox().await;
    let url = mail[0]["metadata"]["url"].as_str().expect("url");
    assert!(
        url.starts_with("https://portal.example/auth/magic?token=opml_"),
        "{url}"
    );
}

#[tokio::test]
async fn invalid_tenant_slug_fails_start() {
    let mut cfg = openpartner_mock::Config::for_tests(ADMIN);
    cfg.tenancy = Tenancy::Multi;
    cfg.tenants = vec!["Bad_Slug".into()];
    assert!(openpartner_mock::spawn(cfg).await.is_err());
}
