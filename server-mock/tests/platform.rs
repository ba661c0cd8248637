//! \[EXT\] Tenant provisioning (API.md §5, `/platform/*`), raw HTTP: every route, every
//! error, the platform key's reach, idempotency, and the provisioned tenant in use.

mod common;

use std::time::Duration;

use common::*;
use openpartner_mock::{Config, Tenancy};
use reqwest::Method;
use serde_json::{json, Value};

const PLATFORM: &str = "test-platform-key";

fn multi(c: &mut Config) {
    c.tenancy = Tenancy::Multi;
    c.tenants = vec!["acme".into()];
    c.platform_key = Some(PLATFORM.into());
}

/// A multi-mode server with a platform key; `t.base` is `/t/acme`, `root` the bare origin.
async fn server() -> T {
    start_with(multi).await
}

async fn call(
    t: &T,
    method: Method,
    path: &str,
    cred: Option<&str>,
    body: Option<Value>,
    idem: Option<&str>,
) -> Resp {
    let mut rb = t.http.request(method, format!("{}{path}", t.srv.base_url));
    rb = apply_cred(rb, cred);
    if let Some(k) = idem {
        rb = rb.header("idempotency-key", k);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    send(rb).await
}

async fn pget(t: &T, path: &str, cred: Option<&str>) -> Resp {
    call(t, Method::GET, path, cred, None, None).await
}

async fn ppost(t: &T, path: &str, cred: Option<&str>, body: Value) -> Resp {
    call(t, Method::POST, path, cred, Some(body), None).await
}

async fn create(t: &T, slug: &str, external_id: Option<&str>) -> Value {
    let mut body = json!({"slug": slug, "displayName": format!("Tenant {slug}")});
    if let Some(x) = external_id {
        body["externalId"] = json!(x);
    }
    ppost(t, "/platform/tenants", Some(PLATFORM), body)
        .await
        .assert_status(201)
        .clone()
}

fn s(v: &Value) -> String {
    v.as_str().expect("string").to_owned()
}

#[tokio::test]
async fn create_tenant_and_get_it_by_external_id() {
    let t = server().await;
    let r = ppost(
        &t,
        "/platform/tenants",
        Some(PLATFORM),
        json!({"slug": "globex", "displayName": "  Globex Corp ", "externalId": "crm-42"}),
    )
    .await;
    let created = r.assert_status(201).clone();
    assert_eq!(created["slug"], "globex");
    assert_eq!(created["displayName"], "Globex Corp");
    assert_eq!(created["externalId"], "crm-42");
    assert_eq!(s(&created["id"]).len(), 26);
    let at = s(&created["createdAt"]);
    assert!(at.ends_with('Z') && at.len() == 24, "{at}");
    assert_eq!(
        created.as_object().expect("object").len(),
        5,
        "exactly {{id, slug, displayName, externalId, createdAt}}: {created}"
    );

    let got = pget(
        &t,
        "/platform/tenants/by-external-id/crm-42",
        Some(PLATFORM),
    )
    .await;
    assert_eq!(got.assert_status(200), &created);
    // absent externalId is omitted (API.md §1: absent optional keys are omitted)
    let plain = create(&t, "initech", None).await;
    assert!(plain.get("externalId").is_none(), "{plain}");
    pget(&t, "/platform/tenants/by-external-id/nope", Some(PLATFORM))
        .await
        .assert_err(404, "not_found");
    // the extension is advertised in multi mode with a platform key
    let h = pget(&t, "/health", None).await;
    assert!(h
        .header("openpartner-extensions")
        .expect("header")
        .split(", ")
        .any(|e| e == "platform"));
}

#[tokio::test]
async fn create_errors() {
    let t = server().await;
    create(&t, "globex", Some("crm-1")).await;
    ppost(
        &t,
        "/platform/tenants",
        Some(PLATFORM),
        json!({"slug": "globex", "displayName": "Again"}),
    )
    .await
    .assert_err(409, "slug_taken");
    // a configured tenant's slug is taken too
    ppost(
        &t,
        "/platform/tenants",
        Some(PLATFORM),
        json!({"slug": "acme", "displayName": "Again"}),
    )
    .await
    .assert_err(409, "slug_taken");
    ppost(
        &t,
        "/platform/tenants",
        Some(PLATFORM),
        json!({"slug": "other", "displayName": "Other", "externalId": "crm-1"}),
    )
    .await
    .assert_err(409, "external_id_taken");
    // reserved (every slug of the one list) and malformed slugs → 400 invalid_body on `slug`
    for slug in [
        "default", "www", "api", "app", "admin", "signup", "login", "auth", "docs", "help",
        "support", "status", "network", "static", "public", "platform", "Acme", "a_b", "a/b", "",
    ] {
        let r = ppost(
            &t,
            "/platform/tenants",
            Some(PLATFORM),
            json!({"slug": slug, "displayName": "X"}),
        )
        .await;
        r.assert_err(400, "invalid_body");
        assert!(
            r.body["detail"]["fieldErrors"]["slug"].is_array(),
            "{slug}: {}",
            r.text
        );
    }
    let long = "a".repeat(64);
    ppost(
        &t,
        "/platform/tenants",
        Some(PLATFORM),
        json!({"slug": long, "displayName": "X"}),
    )
    .await
    .assert_err(400, "invalid_body");
    // every field error at once
    let r = ppost(
        &t,
        "/platform/tenants",
        Some(PLATFORM),
        json!({"externalId": ""}),
    )
    .await;
    r.assert_err(400, "invalid_body");
    let fields = &r.body["detail"]["fieldErrors"];
    for f in ["slug", "displayName", "externalId"] {
        assert!(fields[f].is_array(), "{f}: {}", r.text);
    }
    // nothing was created by the failures
    let list = pget(&t, "/platform/tenants", Some(PLATFORM)).await;
    assert_eq!(list.assert_status(200)["total"], 2);
}

#[tokio::test]
async fn list_pages_with_total_limit_offset() {
    let t = server().await;
    for i in 0..5 {
        create(&t, &format!("t{i}"), None).await;
    }
    // the configured `acme` plus five, oldest first
    let all = pget(&t, "/platform/tenants", Some(PLATFORM)).await;
    let all = all.assert_status(200).clone();
    assert_eq!(all["total"], 6);
    assert_eq!(all["limit"], 50);
    assert_eq!(all["offset"], 0);
    let slugs: Vec<String> = all["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| s(&t["slug"]))
        .collect();
    assert_eq!(slugs, ["acme", "t0", "t1", "t2", "t3", "t4"]);

    let mut paged = Vec::new();
    let mut offset = 0;
    loop {
        let r = pget(
            &t,
            &format!("/platform/tenants?limit=4&offset={offset}"),
            Some(PLATFORM),
        )
        .await;
        let b = r.assert_status(200).clone();
        assert_eq!(b["total"], 6);
        assert_eq!(b["limit"], 4);
        assert_eq!(b["offset"], offset);
        let rows = b["tenants"].as_array().expect("tenants").clone();
        if rows.is_empty() {
            break;
        }
        paged.extend(rows.iter().map(|t| s(&t["slug"])));
        offset += rows.len();
    }
    assert_eq!(paged, slugs);
    let r = pget(&t, "/platform/tenants?offset=100", Some(PLATFORM)).await;
    let b = r.assert_status(200);
    assert_eq!(b["tenants"], json!([]));
    assert_eq!(b["total"], 6);

    for q in ["limit=0", "limit=101", "limit=x", "offset=-1", "offset=1.5"] {
        pget(&t, &format!("/platform/tenants?{q}"), Some(PLATFORM))
            .await
            .assert_err(400, "invalid_query");
    }
    pget(&t, "/platform/tenants?limit=100", Some(PLATFORM))
        .await
        .assert_status(200);
}

#[tokio::test]
async fn only_the_platform_key_in_multi_mode() {
    let t = server().await;
    let db_admin = t.admin_key().await; // an admin key of `acme`
    let paths = [
        (Method::POST, "/platform/tenants"),
        (Method::GET, "/platform/tenants"),
        (Method::GET, "/platform/tenants/by-external-id/x"),
        (Method::POST, "/platform/tenants/x/api-keys"),
        (Method::POST, "/platform/tenants/x/login-links"),
    ];
    for (m, p) in &paths {
        for cred in [None, Some(ADMIN), Some(db_admin.as_str()), Some("op_nope")] {
            let body = (*m == Method::POST).then(|| json!({}));
            call(&t, m.clone(), p, cred, body, None)
                .await
                .assert_err(401, "unauthorized");
        }
    }
    // the platform key is no admin key on tenant routes
    t.get("/partners", Some(PLATFORM))
        .await
        .assert_err(401, "unauthorized");
    t.post("/api-keys", Some(PLATFORM), json!({}))
        .await
        .assert_err(401, "unauthorized");
    t.get("/auth/whoami", Some(PLATFORM))
        .await
        .assert_err(401, "unauthorized");
    // /platform/* is not a tenant route: under a tenant prefix it does not exist
    t.get("/platform/tenants", Some(PLATFORM))
        .await
        .assert_err(404, "route_not_found");
    let r = send(
        t.http
            .get(format!("{}/api/t/acme/platform/tenants", t.srv.base_url))
            .bearer_auth(PLATFORM),
    )
    .await;
    r.assert_err(404, "route_not_found");
    // unknown platform paths and wrong methods behave like any route
    pget(&t, "/platform/nope", Some(PLATFORM))
        .await
        .assert_err(404, "route_not_found");
    call(
        &t,
        Method::DELETE,
        "/platform/tenants",
        Some(PLATFORM),
        None,
        None,
    )
    .await
    .assert_err(405, "method_not_allowed");
}

#[tokio::test]
async fn no_platform_key_configured_is_401() {
    let t = start_with(|c| {
        multi(c);
        c.platform_key = None;
    })
    .await;
    for cred in [None, Some(ADMIN), Some(PLATFORM)] {
        pget(&t, "/platform/tenants", cred)
            .await
            .assert_err(401, "unauthorized");
    }
    let h = pget(&t, "/health", None).await;
    assert!(!h
        .header("openpartner-extensions")
        .unwrap_or("")
        .contains("platform"));
}

#[tokio::test]
async fn single_mode_and_no_extensions_have_no_platform_routes() {
    let single = start_with(|c| c.platform_key = Some(PLATFORM.into())).await;
    let plain = start_with(|c| {
        multi(c);
        c.extensions = false;
    })
    .await;
    for t in [&single, &plain] {
        for cred in [None, Some(ADMIN), Some(PLATFORM)] {
            pget(t, "/platform/tenants", cred)
                .await
                .assert_err(404, "route_not_found");
            ppost(
                t,
                "/platform/tenants",
                cred,
                json!({"slug": "x", "displayName": "X"}),
            )
            .await
            .assert_err(404, "route_not_found");
            pget(t, "/platform/tenants/by-external-id/x", cred)
                .await
                .assert_err(404, "route_not_found");
            ppost(t, "/platform/tenants/x/api-keys", cred, json!({}))
                .await
                .assert_err(404, "route_not_found");
            ppost(
                t,
                "/platform/tenants/x/login-links",
                cred,
                json!({"email": "a@b.co"}),
            )
            .await
            .assert_err(404, "route_not_found");
        }
        let h = pget(t, "/health", None).await;
        assert!(!h
            .header("openpartner-extensions")
            .unwrap_or("")
            .contains("platform"));
    }
}

#[tokio::test]
async fn admin_key_of_a_new_tenant_works_at_once() {
    let t = server().await;
    let tenant = create(&t, "globex", None).await;
    let id = s(&tenant["id"]);
    let r = ppost(
        &t,
        &format!("/platform/tenants/{id}/api-keys"),
        Some(PLATFORM),
        json!({"label": "bootstrap"}),
    )
    .await;
    let k = r.assert_status(201).clone();
    let key = s(&k["plaintext"]);
    assert!(key.starts_with("op_") && key.len() == 51, "{key}");
    assert_eq!(
        k.as_object().expect("object").len(),
        2,
        "exactly {{id, plaintext}}: {k}"
    );
    let globex = |p: &str| format!("{}/t/globex{p}", t.srv.base_url);
    // the key is an admin key of the new tenant, usable at once
    let r = send(t.http.get(globex("/partners")).bearer_auth(&key)).await;
    assert_eq!(r.assert_status(200)["partners"], json!([]));
    let r = send(
        t.http
            .post(globex("/partners"))
            .bearer_auth(&key)
            .json(&json!({"email": "p@globex.example", "name": "P"})),
    )
    .await;
    r.assert_status(201);
    let r = send(t.http.get(globex("/api-keys")).bearer_auth(&key)).await;
    r.assert_status(200);
    let intro = send(t.http.get(globex("/auth/introspect")).bearer_auth(&key)).await;
    assert_eq!(intro.assert_status(200)["role"], "admin");
    // …and only there
    t.get("/partners", Some(&key))
        .await
        .assert_err(401, "unauthorized");
    let stored = t.sql_i64(
        "SELECT COUNT(*) FROM api_keys WHERE tenant_id = ?1 AND kind = 'admin' AND label = 'bootstrap'",
        &[&id],
    );
    assert_eq!(stored, 1);
    // errors
    ppost(
        &t,
        "/platform/tenants/nope/api-keys",
        Some(PLATFORM),
        json!({}),
    )
    .await
    .assert_err(404, "not_found");
    ppost(
        &t,
        &format!("/platform/tenants/{id}/api-keys"),
        Some(PLATFORM),
        json!({"label": "x".repeat(101)}),
    )
    .await
    .assert_err(400, "invalid_body");
}

fn token_of(url: &str) -> String {
    url.split("token=").nth(1).expect("token").to_owned()
}

async fn verify(t: &T, slug: &str, token: &str) -> (Resp, Option<String>) {
    let r = send(
        t.http
            .post(format!("{}/t/{slug}/auth/magic/verify", t.srv.base_url))
            .json(&json!({"token": token})),
    )
    .await;
    let session = r.header("set-cookie").and_then(|c| {
        c.strip_prefix("op_session=")
            .and_then(|rest| rest.split(';').next())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    });
    (r, session)
}

#[tokio::test]
async fn login_link_creates_and_activates_the_admin_single_use_15_minutes() {
    let t = server().await;
    let tenant = create(&t, "globex", None).await;
    let id = s(&tenant["id"]);
    let path = format!("/platform/tenants/{id}/login-links");
    let r = ppost(
        &t,
        &path,
        Some(PLATFORM),
        json!({"email": " Owner@Globex.example "}),
    )
    .await;
    let link = r.assert_status(201).clone();
    let url = s(&link["url"]);
    let prefix = format!("{}/t/globex/auth/magic?token=opml_", t.srv.base_url);
    assert!(url.starts_with(&prefix), "{url}");
    assert_eq!(token_of(&url).len(), 5 + 48);
    let now = chrono::Utc::now();
    let expires = chrono::DateTime::parse_from_rfc3339(&s(&link["expiresAt"])).expect("ts");
    let ttl = expires.signed_duration_since(now).num_seconds();
    assert!((14 * 60..=15 * 60 + 5).contains(&ttl), "ttl {ttl}s");
    // the admin exists, activated, with the lower-cased email; nothing was mailed
    assert_eq!(
        t.sql_i64(
            "SELECT COUNT(*) FROM admins WHERE tenant_id = ?1 AND email = 'owner@globex.example' AND activated_at IS NOT NULL",
            &[&id],
        ),
        1
    );
    assert_eq!(
        t.sql_i64("SELECT COUNT(*) FROM mail WHERE tenant_id = ?1", &[&id]),
        0
    );
    // verify → an admin session of the new tenant
    let (r, session) = verify(&t, "globex", &token_of(&url)).await;
    let b = r.assert_status(200);
    assert_eq!(b["role"], "admin");
    assert_eq!(b["admin"]["email"], "owner@globex.example");
    let session = session.expect("session cookie");
    let me = send(
        t.http
            .get(format!("{}/t/globex/auth/whoami", t.srv.base_url))
            .header("cookie", format!("op_session={session}")),
    )
    .await;
    assert_eq!(me.assert_status(200)["source"], "session");
    // single use
    let (r, _) = verify(&t, "globex", &token_of(&url)).await;
    r.assert_err(400, "invalid_or_expired_token");
    // a second link for the same (existing) admin: no second admin
    let again = ppost(
        &t,
        &path,
        Some(PLATFORM),
        json!({"email": "owner@globex.example"}),
    )
    .await;
    let again = s(&again.assert_status(201)["url"]);
    assert_eq!(
        t.sql_i64("SELECT COUNT(*) FROM admins WHERE tenant_id = ?1", &[&id]),
        1
    );
    // 15 minutes on the server clock
    t.srv.clock().advance(Duration::from_secs(15 * 60 + 1));
    let (r, _) = verify(&t, "globex", &token_of(&again)).await;
    r.assert_err(400, "invalid_or_expired_token");
    // a link is only good in its own tenant
    let third = ppost(
        &t,
        &path,
        Some(PLATFORM),
        json!({"email": "owner@globex.example"}),
    )
    .await;
    let third = s(&third.assert_status(201)["url"]);
    let (r, _) = verify(&t, "acme", &token_of(&third)).await;
    r.assert_err(400, "invalid_or_expired_token");
}

#[tokio::test]
async fn login_link_errors() {
    let t = server().await;
    let tenant = create(&t, "globex", None).await;
    let id = s(&tenant["id"]);
    let path = format!("/platform/tenants/{id}/login-links");
    ppost(
        &t,
        "/platform/tenants/nope/login-links",
        Some(PLATFORM),
        json!({"email": "a@b.co"}),
    )
    .await
    .assert_err(404, "not_found");
    for body in [json!({}), json!({"email": "not-an-email"})] {
        let r = ppost(&t, &path, Some(PLATFORM), body).await;
        r.assert_err(400, "invalid_body");
        assert!(r.body["detail"]["fieldErrors"]["email"].is_array());
    }
    // a revoked admin → 409 admin_revoked
    ppost(
        &t,
        &path,
        Some(PLATFORM),
        json!({"email": "gone@globex.example"}),
    )
    .await
    .assert_status(201);
    t.sql(
        "UPDATE admins SET revoked_at = '2026-01-01T00:00:00.000Z' WHERE tenant_id = ?1",
        &[&id],
    );
    ppost(
        &t,
        &path,
        Some(PLATFORM),
        json!({"email": "gone@globex.example"}),
    )
    .await
    .assert_err(409, "admin_revoked");
    // a pending admin (invited, not yet signed in) gets a link, and verifying activates it
    let key = s(&ppost(
        &t,
        &format!("/platform/tenants/{id}/api-keys"),
        Some(PLATFORM),
        json!({}),
    )
    .await
    .assert_status(201)["plaintext"]);
    send(
        t.http
            .post(format!("{}/t/globex/admins", t.srv.base_url))
            .bearer_auth(&key)
            .json(&json!({"email": "pending@globex.example", "name": "Pending"})),
    )
    .await
    .assert_status(201);
    let r = ppost(
        &t,
        &path,
        Some(PLATFORM),
        json!({"email": "pending@globex.example"}),
    )
    .await;
    let url = s(&r.assert_status(201)["url"]);
    let (r, _) = verify(&t, "globex", &token_of(&url)).await;
    assert_eq!(r.assert_status(200)["admin"]["name"], "Pending");
    assert_eq!(
        t.sql_i64(
            "SELECT COUNT(*) FROM admins WHERE tenant_id = ?1 AND email = 'pending@globex.example' AND activated_at IS NOT NULL",
            &[&id],
        ),
        1
    );
}

#[tokio::test]
async fn idempotency_on_platform_routes() {
    let t = server().await;
    let body = json!({"slug": "globex", "displayName": "Globex"});
    let first = call(
        &t,
        Method::POST,
        "/platform/tenants",
        Some(PLATFORM),
        Some(body.clone()),
        Some("create-1"),
    )
    .await;
    let created = first.assert_status(201).clone();
    assert!(first.header("idempotent-replayed").is_none());
    // a repeat replays the stored answer (it carries no secret)
    let again = call(
        &t,
        Method::POST,
        "/platform/tenants",
        Some(PLATFORM),
        Some(body.clone()),
        Some("create-1"),
    )
    .await;
    assert_eq!(again.assert_status(201), &created);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // same key, other body → 422
    call(
        &t,
        Method::POST,
        "/platform/tenants",
        Some(PLATFORM),
        Some(json!({"slug": "other", "displayName": "Other"})),
        Some("create-1"),
    )
    .await
    .assert_err(422, "idempotency_key_reused");
    let id = s(&created["id"]);
    // secret-bearing answers are not stored: their repeat is 409 replay_unavailable
    for (route, body) in [
        ("api-keys", json!({})),
        ("login-links", json!({"email": "o@globex.example"})),
    ] {
        let path = format!("/platform/tenants/{id}/{route}");
        let key = format!("secret-{route}");
        let r = call(
            &t,
            Method::POST,
            &path,
            Some(PLATFORM),
            Some(body.clone()),
            Some(&key),
        )
        .await;
        r.assert_status(201);
        let r2 = call(
            &t,
            Method::POST,
            &path,
            Some(PLATFORM),
            Some(body.clone()),
            Some(&key),
        )
        .await;
        r2.assert_err(409, "idempotency_replay_unavailable");
        if route == "api-keys" {
            assert_eq!(r2.body["detail"]["id"], r.body["id"]);
        }
    }
    // one admin key, one admin: the repeats created nothing
    assert_eq!(
        t.sql_i64("SELECT COUNT(*) FROM api_keys WHERE tenant_id = ?1", &[&id]),
        1
    );
    assert_eq!(
        t.sql_i64("SELECT COUNT(*) FROM admins WHERE tenant_id = ?1", &[&id]),
        1
    );
    // the platform's records are scoped apart from every tenant's
    assert_eq!(
        t.sql_i64(
            "SELECT COUNT(*) FROM idempotency_keys WHERE tenant_id = 'platform' AND credential_id = 'platform'",
            &[],
        ),
        3
    );
    // the slug keeps a single tenant
    let list = pget(&t, "/platform/tenants", Some(PLATFORM)).await;
    assert_eq!(list.assert_status(200)["total"], 2);
}
