//! Exact method / path / headers / body of the phase-1 handlers, against wiremock.

mod common;

use common::*;
use openpartner::{Client, Credentials, Error, Extension, Role};
use serde_json::json;
use wiremock::ResponseTemplate;

fn is_ulid(s: &str) -> bool {
    s.len() == 26 && ulid::Ulid::from_string(s).is_ok()
}

#[tokio::test]
async fn health_has_no_auth_and_no_tenant_prefix() {
    let server = common::server().await;
    mount_expect(
        &server,
        "GET",
        "/health",
        1,
        echo_ext(
            200,
            json!({"ok":true,"service":"api","mode":"selfhost"}),
            "idempotency, external-id",
        ),
    )
    .await;
    let c = tenant_client(&server, "acme");
    assert!(!c.capabilities().known());
    let h = c.health().await.unwrap();
    assert!(h.ok);
    assert_eq!(h.service.as_deref(), Some("api"));
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 1);
    assert!(header(&reqs[0], "authorization").is_none());
    assert!(header(&reqs[0], "cookie").is_none());
    assert!(is_ulid(header(&reqs[0], "x-request-id").unwrap()));
    let caps = c.capabilities();
    assert!(caps.known());
    assert!(caps.has(Extension::Idempotency));
    assert!(caps.has(Extension::ExternalId));
    assert!(!caps.has(Extension::IpAllowlist));
}

#[tokio::test]
async fn create_partner_exact_request() {
    let server = common::server().await;
    let mut row = partner_json("01P", "ada@example.com");
    row["invited"] = json!(false);
    row["activatedAt"] = json!("2026-11-20T10:30:00.000Z");
    mount_expect(&server, "POST", "/t/acme/partners", 1, echo(201, row)).await;
    let c = tenant_client(&server, "acme");
    let created = c
        .partners()
        .create("ada@example.com", "Ada")
        .metadata(json!({"tier":"gold"}))
        .send_invite(false)
        .program_ids(vec!["cmp_default".into()])
        .send()
        .await
        .unwrap();
    assert_eq!(created.partner.id, "01P");
    assert!(!created.invited);
    assert!(created.partner.activated_at.is_some());
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        header(r, "authorization"),
        Some(format!("Bearer {ADMIN_KEY}").as_str())
    );
    assert_eq!(header(r, "content-type"), Some("application/json"));
    assert!(is_ulid(header(r, "idempotency-key").unwrap()));
    assert!(is_ulid(header(r, "x-request-id").unwrap()));
    assert_ne!(header(r, "idempotency-key"), header(r, "x-request-id"));
    assert_eq!(
        body_json(r),
        json!({"email":"ada@example.com","name":"Ada","metadata":{"tier":"gold"},"sendInvite":false,"programIds":["cmp_default"]})
    );
}

#[tokio::test]
async fn caller_idempotency_key_is_sent() {
    let server = common::server().await;
    let mut row = partner_json("01P", "a@b.c");
    row["invited"] = json!(true);
    mount(&server, "POST", "/partners", echo(201, row)).await;
    client(&server)
        .partners()
        .create("a@b.c", "A")
        .idempotency_key("row-7")
        .send()
        .await
        .unwrap();
    let reqs = requests(&server).await;
    assert_eq!(header(&reqs[0], "idempotency-key"), Some("row-7"));
    assert_eq!(body_json(&reqs[0]), json!({"email":"a@b.c","name":"A"}));
}

#[tokio::test]
async fn session_credentials_send_cookie_not_bearer() {
    let server = common::server().await;
    mount(&server, "GET", "/auth/whoami", echo(200, json!({"role":"partner","partnerId":"p1","partner":{"id":"p1","name":"A","email":"a@b.c","stripeConnected":false}}))).await;
    let c = client(&server).with_credentials(Credentials::session("ops_0011223344556677"));
    let who = c.auth().whoami().await.unwrap();
    assert_eq!(who.role, Role::Partner);
    assert_eq!(who.partner_id.as_deref(), Some("p1"));
    let r = &requests(&server).await[0];
    assert_eq!(header(r, "cookie"), Some("op_session=ops_0011223344556677"));
    assert!(header(r, "authorization").is_none());
}

#[tokio::test]
async fn magic_link_verify_parses_set_cookie() {
    let server = common::server().await;
    mount(&server, "POST", "/t/acme/auth/magic/verify", 
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok":true,"role":"admin","admin":{"id":"a1","email":"root@x.io","name":"Root"}}))
                .insert_header(
                    "set-cookie",
                    "op_session=ops_aaaabbbbccccddddeeeeffff00001111222233334444aaaa; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000",
                ),
        ).await;
    let c = Client::builder()
        .base_url(server.uri())
        .tenant("acme")
        .build()
        .unwrap();
    let login = c.auth().verify_magic_link("opml_token").await.unwrap();
    assert_eq!(login.role, Role::Admin);
    assert_eq!(login.admin.as_ref().unwrap().email, "root@x.io");
    match &login.session {
        Credentials::Session(s) => {
            assert_eq!(
                s.expose(),
                "ops_aaaabbbbccccddddeeeeffff00001111222233334444aaaa"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{:?}", login).contains("bbbbcccc"));
    let r = &requests(&server).await[0];
    assert_eq!(body_json(r), json!({"token":"opml_token"}));
    assert!(header(r, "authorization").is_none());
}

#[tokio::test]
async fn signin_and_signout() {
    let server = common::server().await;
    mount_expect(
        &server,
        "POST",
        "/auth/signin",
        1,
        echo(200, json!({"ok":true})),
    )
    .await;
    mount_expect(
        &server,
        "POST",
        "/auth/signout",
        1,
        echo(200, json!({"ok":true})),
    )
    .await;
    let c = client(&server);
    c.auth().signin("a@b.c").await.unwrap();
    c.with_credentials(Credentials::session("ops_x"))
        .auth()
        .signout()
        .await
        .unwrap();
    let reqs = requests(&server).await;
    assert_eq!(body_json(&reqs[0]), json!({"email":"a@b.c"}));
    assert!(header(&reqs[0], "authorization").is_none());
    assert_eq!(header(&reqs[1], "cookie"), Some("op_session=ops_x"));
}

#[tokio::test]
async fn introspect_shapes() {
    let server = common::server().await;
    route("GET", "/auth/introspect")
        .respond_with(echo(
            200,
            json!({"role":"scoped","scopes":["events:write","partners:read"]}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    route("GET", "/auth/introspect")
        .respond_with(echo(
            200,
            json!({"role":"partner","restrictedTo":{"partnerId":"p9"}}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount(
        &server,
        "GET",
        "/auth/introspect",
        echo(200, json!({"role":"admin","unrestricted":true})),
    )
    .await;
    let c = client(&server);
    let s = c.auth().introspect().await.unwrap();
    assert_eq!(s.role, Role::Scoped);
    assert_eq!(s.scopes, vec!["events:write", "partners:read"]);
    assert!(!s.unrestricted);
    let p = c.auth().introspect().await.unwrap();
    assert_eq!(p.role, Role::Partner);
    assert_eq!(p.partner_id.as_deref(), Some("p9"));
    let a = c.auth().introspect().await.unwrap();
    assert!(a.unrestricted);
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        json!({"role":"partner","restrictedTo":{"partnerId":"p9"}})
    );
}

#[tokio::test]
async fn dev_mailbox() {
    let server = common::server().await;
    mount(&server, "GET", "/dev/mailbox", echo(200, json!({"messages":[{"to":"a@b.c","subject":"Sign in","body":"…",
            "metadata":{"purpose":"partner_signin","token":"opml_00112233445566778899","url":"http://x/auth/magic?token=opml_00112233445566778899"}}]}))).await;
    let msgs = client(&server).dev().mailbox().await.unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].metadata.purpose, "partner_signin");
    assert_eq!(
        msgs[0].metadata.token.as_ref().unwrap().expose(),
        "opml_00112233445566778899"
    );
    assert!(!format!("{:?}", msgs[0].metadata.token).contains("2233445566"));
}

#[tokio::test]
async fn partner_get_invite_revoke_reinstate() {
    let server = common::server().await;
    mount(
        &server,
        "GET",
        "/partners/p%2F1",
        echo(200, partner_json("p/1", "a@b.c")),
    )
    .await;
    mount(
        &server,
        "POST",
        "/partners/p1/invite",
        echo(200, json!({"ok":true})),
    )
    .await;
    mount(&server, "POST", "/partners/p1/revoke", echo(200, json!({"ok":true,"revokedAt":"2026-11-21T00:00:00.000Z","notified":false,"notifyError":null}))).await;
    mount(
        &server,
        "POST",
        "/partners/p1/reinstate",
        echo(200, json!({"ok":true})),
    )
    .await;
    let c = client(&server);
    assert_eq!(c.partners().get("p/1").await.unwrap().id, "p/1");
    c.partners().invite("p1").await.unwrap();
    let r = c
        .partners()
        .revoke("p1")
        .reason("fraud")
        .notify(false)
        .send()
        .await
        .unwrap();
    assert!(!r.notified);
    c.partners().reinstate("p1").await.unwrap();
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 4);
    assert_eq!(
        body_json(&reqs[2]),
        json!({"reason":"fraud","notify":false})
    );
    assert!(reqs[1].body.is_empty());
    assert!(header(&reqs[1], "idempotency-key").is_some());
}

#[tokio::test]
async fn external_id_needs_extension() {
    // Server without the extension: fails before sending, after one capability refresh.
    let server = common::server().await;
    mount_expect(&server, "GET", "/health", 1, echo(200, json!({"ok":true}))).await;
    let c = client(&server);
    let err = c
        .partners()
        .create("a@b.c", "A")
        .external_id("crm-1")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Unsupported { feature } if feature == "external-id"),
        "{err:?}"
    );
    let err = c.partners().by_external_id("crm-1").await.unwrap_err();
    assert!(err.is_unsupported());
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 1, "only GET /health");

    // Server with it.
    let server = common::server().await;
    mount(
        &server,
        "GET",
        "/health",
        echo_ext(200, json!({"ok":true}), "external-id"),
    )
    .await;
    mount(
        &server,
        "GET",
        "/partners/by-external-id/crm%201",
        echo_ext(200, partner_json("p1", "a@b.c"), "external-id"),
    )
    .await;
    let mut row = partner_json("p2", "b@b.c");
    row["invited"] = json!(true);
    row["externalId"] = json!("crm-2");
    mount(
        &server,
        "POST",
        "/partners",
        echo_ext(201, row, "external-id"),
    )
    .await;
    let c = client(&server);
    assert_eq!(c.partners().by_external_id("crm 1").await.unwrap().id, "p1");
    let p = c
        .partners()
        .create("b@b.c", "B")
        .external_id("crm-2")
        .send()
        .await
        .unwrap();
    assert_eq!(p.partner.external_id.as_deref(), Some("crm-2"));
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 3);
    assert_eq!(body_json(&reqs[2])["externalId"], "crm-2");
}

#[tokio::test]
async fn api_keys_routes() {
    let server = common::server().await;
    let key = "op_ffeeddccbbaa99887766554433221100ffeeddccbbaa9988";
    mount(
        &server,
        "POST",
        "/api-keys",
        echo_ext(201, json!({"id":"k1","plaintext":key}), "ip-allowlist"),
    )
    .await;
    mount(&server, "POST", "/api-keys/scoped", echo_ext(201, json!({"id":"k2","plaintext":key,"scopes":["events:write"],"allowedIps":["10.0.0.0/8"]}), "ip-allowlist")).await;
    mount(
        &server,
        "POST",
        "/partners/p1/api-keys",
        echo_ext(201, json!({"id":"k3","plaintext":key}), "ip-allowlist"),
    )
    .await;
    mount(&server, "GET", "/api-keys", echo_ext(200, json!({"apiKeys":[{"id":"k2","prefix":"op_ffeed","label":"crm","scopes":["events:write"],"createdAt":"2026-11-20T10:30:00.000Z","lastUsedAt":null,"revokedAt":null}]}), "ip-allowlist")).await;
    mount(&server, "GET", "/partners/p1/api-keys", echo_ext(200, json!({"apiKeys":[{"id":"k3","prefix":"op_ffeed","label":null,"createdAt":"2026-11-20T10:30:00.000Z","lastUsedAt":"2026-11-20T11:30:00.000Z","revokedAt":null}]}), "ip-allowlist")).await;
    mount(
        &server,
        "DELETE",
        "/api-keys/k1",
        echo_ext(200, json!({"ok":true}), "ip-allowlist"),
    )
    .await;
    let c = client(&server);
    let k = c.api_keys().create().label("ci").send().await.unwrap();
    assert_eq!(k.plaintext.expose(), key);
    let dbg = format!("{k:?}");
    assert!(!dbg.contains("ddccbbaa99"), "{dbg}");
    let k2 = c
        .api_keys()
        .create_scoped(vec!["events:write".into()])
        .label("crm")
        .allowed_ips(vec!["10.0.0.0/8".into()])
        .send()
        .await
        .unwrap();
    assert_eq!(
        k2.allowed_ips.as_deref(),
        Some(&["10.0.0.0/8".to_string()][..])
    );
    c.api_keys().create_for_partner("p1").send().await.unwrap();
    let list = c
        .api_keys()
        .list()
        .scope("events:write")
        .send()
        .await
        .unwrap();
    assert_eq!(list[0].label.as_deref(), Some("crm"));
    let plist = c.api_keys().list_for_partner("p1").await.unwrap();
    assert!(plist[0].last_used_at.is_some());
    c.api_keys().revoke("k1").await.unwrap();
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 6);
    assert_eq!(body_json(&reqs[0]), json!({"label":"ci"}));
    assert_eq!(
        body_json(&reqs[1]),
        json!({"label":"crm","allowedIps":["10.0.0.0/8"],"scopes":["events:write"]})
    );
    assert_eq!(body_json(&reqs[2]), json!({}));
    assert_eq!(reqs[3].url.query(), Some("scope=events%3Awrite"));
    assert_eq!(reqs[5].method.as_str(), "DELETE");
    assert!(header(&reqs[5], "idempotency-key").is_none());
}

#[tokio::test]
async fn allowed_ips_unsupported_without_extension() {
    let server = common::server().await;
    mount_expect(
        &server,
        "GET",
        "/health",
        1,
        echo_ext(200, json!({"ok":true}), "idempotency"),
    )
    .await;
    let c = client(&server);
    let err = c
        .api_keys()
        .create()
        .allowed_ips(vec!["1.2.3.4".into()])
        .send()
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Unsupported { feature } if feature == "ip-allowlist"));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn admins_routes() {
    let server = common::server().await;
    let admin = json!({"id":"a1","tenantId":"t","email":"x@y.z","name":"X","createdAt":"2026-11-20T10:30:00.000Z","activatedAt":null,"revokedAt":null});
    mount(
        &server,
        "GET",
        "/admins",
        echo(200, json!({"admins":[admin.clone()]})),
    )
    .await;
    mount(&server, "POST", "/admins", echo(201, admin.clone())).await;
    for action in ["invite", "revoke", "reinstate"] {
        mount_expect(
            &server,
            "POST",
            format!("/admins/a1/{action}"),
            1,
            echo(200, json!({"ok":true})),
        )
        .await;
    }
    let c = client(&server);
    assert_eq!(c.admins().list().await.unwrap()[0].email, "x@y.z");
    assert_eq!(c.admins().create("x@y.z", "X").await.unwrap().id, "a1");
    c.admins().invite("a1").await.unwrap();
    c.admins().revoke("a1").await.unwrap();
    c.admins().reinstate("a1").await.unwrap();
    let reqs = requests(&server).await;
    assert_eq!(body_json(&reqs[1]), json!({"email":"x@y.z","name":"X"}));
}

#[tokio::test]
async fn api_error_carries_fields() {
    let server = common::server().await;
    mount(
        &server,
        "POST",
        "/partners",
        echo(
            409,
            json!({"error":"email_taken","detail":"a partner with this email exists"}),
        ),
    )
    .await;
    mount(
        &server,
        "GET",
        "/partners/zzz",
        echo(404, json!({"error":"not_found"})),
    )
    .await;
    let c = client(&server);
    let err = c.partners().create("a@b.c", "A").send().await.unwrap_err();
    match &err {
        Error::Api {
            status,
            code,
            detail,
            request_id,
            body,
            ..
        } => {
            assert_eq!(*status, 409);
            assert_eq!(code, "email_taken");
            assert_eq!(detail.as_ref().unwrap(), "a partner with this email exists");
            assert_eq!(body["error"], "email_taken");
            let sent = requests(&server).await;
            assert_eq!(request_id.as_deref(), header(&sent[0], "x-request-id"));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_conflict());
    assert!(err.to_string().contains("409 email_taken"));
    let nf = c.partners().get("zzz").await.unwrap_err();
    assert!(nf.is_not_found());
    assert!(
        nf.to_string()
            .starts_with("API error 404 not_found (request id "),
        "{nf}"
    );
    assert!(!nf.is_unsupported());
    // No detail key: detail is the whole body.
    assert_eq!(nf.code(), Some("not_found"));
    match nf {
        Error::Api { detail, .. } => assert_eq!(detail.unwrap(), json!({"error":"not_found"})),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn decode_error_has_path_and_masks_secrets() {
    let server = common::server().await;
    let mut bad = partner_json("p2", "b@b.c");
    bad["createdAt"] = json!("yesterday");
    mount(
        &server,
        "GET",
        "/partners",
        echo(
            200,
            json!({"partners":[partner_json("p1","a@b.c"), bad],"nextCursor":null,
            "plaintext":"op_0123456789abcdef0123456789abcdef0123456789abcdef"}),
        ),
    )
    .await;
    let err = client(&server).partners().list().send().await.unwrap_err();
    match &err {
        Error::Decode {
            path,
            body_snippet,
            request_id,
            ..
        } => {
            assert_eq!(path, "partners[1].createdAt");
            assert!(
                !body_snippet.contains("0123456789abcdef0123"),
                "{body_snippet}"
            );
            assert!(request_id.is_some());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn raw_returns_any_status() {
    let server = common::server().await;
    mount(
        &server,
        "GET",
        "/t/acme/partners",
        echo(
            403,
            json!({"error":"forbidden_scope","required":"partners:read"}),
        ),
    )
    .await;
    mount(
        &server,
        "GET",
        "/openapi.json",
        ResponseTemplate::new(200).set_body_string("not json"),
    )
    .await;
    mount(
        &server,
        "POST",
        "/t/acme/partners/p1/invite",
        ResponseTemplate::new(204),
    )
    .await;
    let c = tenant_client(&server, "acme");
    let r = c
        .raw(http::Method::GET, "/partners?limit=5&email=a%40b.c", None)
        .await
        .unwrap();
    assert_eq!(r.status, 403);
    assert_eq!(r.body["required"], "partners:read");
    assert!(r.request_id.is_some());
    let r2 = c
        .raw(http::Method::GET, "/openapi.json", None)
        .await
        .unwrap();
    assert_eq!(r2.body, json!("not json"));
    let r3 = c
        .raw(
            http::Method::POST,
            "/partners/p1/invite",
            Some(json!({"x":1})),
        )
        .await
        .unwrap();
    assert_eq!(r3.status, 204);
    assert_eq!(r3.body, serde_json::Value::Null);
    let reqs = requests(&server).await;
    assert_eq!(reqs[0].url.query(), Some("limit=5&email=a%40b.c"));
    assert!(header(&reqs[0], "authorization").is_some());
    assert_eq!(body_json(&reqs[2]), json!({"x":1}));
    assert!(header(&reqs[2], "idempotency-key").is_some());
}

#[tokio::test]
async fn invalid_idempotency_keys_fail_before_sending() {
    let server = common::server().await;
    let c = client(&server);
    for key in ["".to_string(), "k".repeat(256), "naïve".to_string()] {
        let err = c
            .partners()
            .create("a@b.c", "A")
            .idempotency_key(key)
            .send()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
    }
    assert!(requests(&server).await.is_empty());
}
