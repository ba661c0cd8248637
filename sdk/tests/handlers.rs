//! Exact method / path / headers / body of the phase-1 handlers, against wiremock.

mod common;

use common::*;
use openpartner::{Client, Credentials, Error, Extension, Role};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn is_ulid(s: &str) -> bool {
    s.len() == 26 && ulid::Ulid::from_string(s).is_ok()
}

#[tokio::test]
async fn health_has_no_auth_and_no_tenant_prefix() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health"))
        .respond_with(echo_ext(
            200,
            json!({"ok":true,"service":"api","mode":"selfhost"}),
            "idempotency, external-id",
        ))
        .expect(1)
        .mount(&server)
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
    let server = MockServer::start().await;
    let mut row = partner_json("01P", "ada@example.com");
    row["invited"] = json!(false);
    row["activatedAt"] = json!("2026-11-20T10:30:00.000Z");
    Mock::given(method("POST"))
        .and(path("/t/acme/partners"))
        .respond_with(echo(201, row))
        .expect(1)
        .mount(&server)
        .await;
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
    let server = MockServer::start().await;
    let mut row = partner_json("01P", "a@b.c");
    row["invited"] = json!(true);
    Mock::given(method("POST"))
        .and(path("/partners"))
        .respond_with(echo(201, row))
        .mount(&server)
        .await;
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
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/auth/whoami"))
        .respond_with(echo(200, json!({"role":"partner","partnerId":"p1","partner":{"id":"p1","name":"A","email":"a@b.c","stripeConnected":false}})))
        .mount(&server)
        .await;
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
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/t/acme/auth/magic/verify"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok":true,"role":"admin","admin":{"id":"a1","email":"root@x.io","name":"Root"}}))
                .insert_header(
                    "set-cookie",
                    "op_session=ops_aaaabbbbccccddddeeeeffff00001111222233334444aaaa; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000",
                ),
        )
        .mount(&server)
        .await;
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
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/signin"))
        .respond_with(echo(200, json!({"ok":true})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/signout"))
        .respond_with(echo(200, json!({"ok":true})))
        .expect(1)
        .mount(&server)
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
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/auth/introspect"))
        .respond_with(echo(
            200,
            json!({"role":"scoped","scopes":["events:write","partners:read"]}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/auth/introspect"))
        .respond_with(echo(
            200,
            json!({"role":"partner","restrictedTo":{"partnerId":"p9"}}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/auth/introspect"))
        .respond_with(echo(200, json!({"role":"admin","unrestricted":true})))
        .mount(&server)
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
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/dev/mailbox"))
        .respond_with(echo(200, json!({"messages":[{"to":"a@b.c","subject":"Sign in","body":"…",
            "metadata":{"purpose":"partner_signin","token":"opml_00112233445566778899","url":"http://x/auth/magic?token=opml_00112233445566778899"}}]})))
        .mount(&server)
        .await;
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
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/partners/p%2F1"))
        .respond_with(echo(200, partner_json("p/1", "a@b.c")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/partners/p1/invite"))
        .respond_with(echo(200, json!({"ok":true})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/partners/p1/revoke"))
        .respond_with(echo(200, json!({"ok":true,"revokedAt":"2026-11-21T00:00:00.000Z","notified":false,"notifyError":null})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/partners/p1/reinstate"))
        .respond_with(echo(200, json!({"ok":true})))
        .mount(&server)
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
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health"))
        .respond_with(echo(200, json!({"ok":true})))
        .expect(1)
        .mount(&server)
        .await;
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
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health"))
        .respond_with(echo_ext(200, json!({"ok":true}), "external-id"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/partners/by-external-id/crm%201"))
        .respond_with(echo_ext(200, partner_json("p1", "a@b.c"), "external-id"))
        .mount(&server)
        .await;
    let mut row = partner_json("p2", "b@b.c");
    row["invited"] = json!(true);
    row["externalId"] = json!("crm-2");
    Mock::given(method("POST"))
        .and(path("/partners"))
        .respond_with(echo_ext(201, row, "external-id"))
        .mount(&server)
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
    let server = MockServer::start().await;
    let key = "op_ffeeddccbbaa99887766554433221100ffeeddccbbaa9988";
    Mock::given(method("POST"))
        .and(path("/api-keys"))
        .respond_with(echo_ext(
            201,
            json!({"id":"k1","plaintext":key}),
            "ip-allowlist",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api-keys/scoped"))
        .respond_with(echo_ext(201, json!({"id":"k2","plaintext":key,"scopes":["events:write"],"allowedIps":["10.0.0.0/8"]}), "ip-allowlist"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/partners/p1/api-keys"))
        .respond_with(echo_ext(
            201,
            json!({"id":"k3","plaintext":key}),
            "ip-allowlist",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api-keys"))
        .respond_with(echo_ext(200, json!({"apiKeys":[{"id":"k2","prefix":"op_ffeed","label":"crm","scopes":["events:write"],"createdAt":"2026-11-20T10:30:00.000Z","lastUsedAt":null,"revokedAt":null}]}), "ip-allowlist"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/partners/p1/api-keys"))
        .respond_with(echo_ext(200, json!({"apiKeys":[{"id":"k3","prefix":"op_ffeed","label":null,"createdAt":"2026-11-20T10:30:00.000Z","lastUsedAt":"2026-11-20T11:30:00.000Z","revokedAt":null}]}), "ip-allowlist"))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api-keys/k1"))
        .respond_with(echo_ext(200, json!({"ok":true}), "ip-allowlist"))
        .mount(&server)
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
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/health"))
        .respond_with(echo_ext(200, json!({"ok":true}), "idempotency"))
        .expect(1)
        .mount(&server)
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
    let server = MockServer::start().await;
    let admin = json!({"id":"a1","tenantId":"t","email":"x@y.z","name":"X","createdAt":"2026-11-20T10:30:00.000Z","activatedAt":null,"revokedAt":null});
    Mock::given(method("GET"))
        .and(path("/admins"))
        .respond_with(echo(200, json!({"admins":[admin.clone()]})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/admins"))
        .respond_with(echo(201, admin.clone()))
        .mount(&server)
        .await;
    for action in ["invite", "revoke", "reinstate"] {
        Mock::given(method("POST"))
            .and(path(format!("/admins/a1/{action}")))
            .respond_with(echo(200, json!({"ok":true})))
            .expect(1)
            .mount(&server)
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
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/partners"))
        .respond_with(echo(
            409,
            json!({"error":"email_taken","detail":"a partner with this email exists"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/partners/zzz"))
        .respond_with(echo(404, json!({"error":"not_found"})))
        .mount(&server)
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
    let server = MockServer::start().await;
    let mut bad = partner_json("p2", "b@b.c");
    bad["createdAt"] = json!("yesterday");
    Mock::given(method("GET"))
        .and(path("/partners"))
        .respond_with(echo(
            200,
            json!({"partners":[partner_json("p1","a@b.c"), bad],"nextCursor":null,
            "plaintext":"op_0123456789abcdef0123456789abcdef0123456789abcdef"}),
        ))
        .mount(&server)
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
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/t/acme/partners"))
        .respond_with(echo(
            403,
            json!({"error":"forbidden_scope","required":"partners:read"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/openapi.json"))
        .respond_with(ResponseTemplate::new(200).set_body_string("not json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/t/acme/partners/p1/invite"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
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
    let server = MockServer::start().await;
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
