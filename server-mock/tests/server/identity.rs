//! /auth/*: sign-in, magic links (single use, expiry), sessions, whoami, introspect.

use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn magic_verify_activates_sets_cookie_and_is_single_use() {
    let t = start().await;
    let p = t.partner("new@x.co", true).await;
    let pid = p["id"].as_str().expect("id");
    let token = t
        .last_token("new@x.co", "partner_invite")
        .await
        .expect("token");
    let (r, session) = t.verify(&token).await;
    let b = r.assert_status(200).clone();
    assert_eq!(
        b,
        json!({"ok": true, "role": "partner", "partner": {"id": pid, "name": "Partner new@x.co", "email": "new@x.co", "stripeConnected": false}})
    );
    let cookie = r.header("set-cookie").expect("cookie").to_owned();
    let session = session.expect("session");
    assert!(
        session.starts_with("ops_") && session.len() == 52,
        "{session}"
    );
    assert_eq!(
        cookie,
        format!("op_session={session}; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000")
    );
    // activated + event
    let row = t.get(&format!("/partners/{pid}"), Some(ADMIN)).await;
    assert!(row.assert_status(200)["activatedAt"].is_string());
    assert_eq!(
        t.sql_i64("SELECT COUNT(*) FROM outbox WHERE event_type = 'partner.activated' AND json_extract(data,'$.partnerId') = ?1", &[&pid]),
        1
    );
    // single use
    let (r, s) = t.verify(&token).await;
    r.assert_err(400, "invalid_or_expired_token");
    assert!(s.is_none());
    // unknown
    t.verify("opml_000000000000000000000000000000000000000000000000")
        .await
        .0
        .assert_err(400, "invalid_or_expired_token");
    t.verify("nonsense")
        .await
        .0
        .assert_err(400, "invalid_or_expired_token");
    t.post("/auth/magic/verify", None, json!({}))
        .await
        .assert_err(400, "invalid_body");

    // the session works
    let r = t.get("/auth/whoami", Some(&session)).await;
    assert_eq!(
        r.assert_status(200),
        &json!({"role": "partner", "partnerId": pid, "partner": {"id": pid, "name": "Partner new@x.co", "email": "new@x.co", "stripeConnected": false}})
    );
}

#[tokio::test]
async fn magic_link_expires_after_15_minutes() {
    let t = start().await;
    t.partner("a@x.co", true).await;
    t.partner("b@x.co", true).await;
    let ta = t.last_token("a@x.co", "partner_invite").await.expect("a");
    let tb = t.last_token("b@x.co", "partner_invite").await.expect("b");
    t.srv.clock().advance(Duration::from_secs(14 * 60));
    t.verify(&ta).await.0.assert_status(200);
    t.srv.clock().advance(Duration::from_secs(61 + 1));
    t.verify(&tb)
        .await
        .0
        .assert_err(400, "invalid_or_expired_token");
}

#[tokio::test]
async fn revoked_partner_token_is_403() {
    let t = start().await;
    let p = t.partner("a@x.co", true).await;
    let id = p["id"].as_str().expect("id");
    let token = t
        .last_token("a@x.co", "partner_invite")
        .await
        .expect("token");
    t.post(
        &format!("/partners/{id}/revoke"),
        Some(ADMIN),
        json!({"notify": false}),
    )
    .await
    .assert_status(200);
    t.verify(&token).await.0.assert_err(403, "partner_revoked");
}

#[tokio::test]
async fn sessions_expire_after_30_days() {
    let t = start().await;
    let (_, session) = t.partner_session("a@x.co").await;
    t.srv.clock().advance(Duration::from_secs(29 * 24 * 3600));
    t.get("/auth/whoami", Some(&session))
        .await
        .assert_status(200);
    t.srv.clock().advance(Duration::from_secs(24 * 3600 + 5));
    t.get("/auth/whoami", Some(&session))
        .await
        .assert_err(401, "unauthorized");
}

#[tokio::test]
async fn cookie_secure_flag() {
    let t = start_with(|c| c.cookie_secure = true).await;
    t.partner("a@x.co", true).await;
    let token = t
        .last_token("a@x.co", "partner_invite")
        .await
        .expect("token");
    let (r, _) = t.verify(&token).await;
    assert!(r
        .header("set-cookie")
        .expect("cookie")
        .ends_with("; Secure"));
}

#[tokio::test]
async fn signin_sends_links_without_enumeration() {
    let t = start().await;
    t.post("/auth/signin", None, json!({"email": "not-an-email"}))
        .await
        .assert_err(400, "invalid_body");
    t.post("/auth/signin", None, json!({}))
        .await
        .assert_err(400, "invalid_body");
    // unknown
    let r = t
        .post("/auth/signin", None, json!({"email": "ghost@x.co"}))
        .await;
    assert_eq!(r.assert_status(200), &json!({"ok": true}));
    assert!(t.mailbox().await.is_empty());
    // pending partner: no link (only activated accounts)
    t.partner("pending@x.co", true).await;
    t.post("/auth/signin", None, json!({"email": "pending@x.co"}))
        .await
        .assert_status(200);
    assert_eq!(t.mailbox().await.len(), 1, "only the invite");
    // active partner
    let p = t.partner("active@x.co", false).await;
    let r = t
        .post("/auth/signin", None, json!({"email": "ACTIVE@x.co"}))
        .await;
    assert_eq!(r.assert_status(200), &json!({"ok": true}));
    let token = t
        .last_token("active@x.co", "partner_signin")
        .await
        .expect("signin mail");
    let (r, _) = t.verify(&token).await;
    assert_eq!(r.assert_status(200)["partner"]["id"], p["id"]);
    // revoked partner: nothing
    let id = p["id"].as_str().expect("id");
    t.post(
        &format!("/partners/{id}/revoke"),
        Some(ADMIN),
        json!({"notify": false}),
    )
    .await
    .assert_status(200);
    let before = t.mailbox().await.len();
    t.post("/auth/signin", None, json!({"email": "active@x.co"}))
        .await
        .assert_status(200);
    assert_eq!(t.mailbox().await.len(), before);
}

#[tokio::test]
async fn admin_invite_signin_and_session_identity() {
    let t = start().await;
    let r = t
        .post(
            "/admins",
            Some(ADMIN),
            json!({"email": "Boss@x.co", "name": "Boss"}),
        )
        .await;
    let admin = r.assert_status(201).clone();
    let aid = admin["id"].as_str().expect("id");
    let token = t
        .last_token("boss@x.co", "admin_invite")
        .await
        .expect("invite");
    let (r, session) = t.verify(&token).await;
    assert_eq!(
        r.assert_status(200),
        &json!({"ok": true, "role": "admin", "admin": {"id": aid, "email": "boss@x.co", "name": "Boss"}})
    );
    let session = session.expect("session");
    let r = t.get("/auth/whoami", Some(&session)).await;
    assert_eq!(
        r.assert_status(200),
        &json!({"role": "admin", "source": "session", "admin": {"id": aid, "email": "boss@x.co", "name": "Boss"}})
    );
    assert_eq!(
        t.get("/auth/introspect", Some(&session))
            .await
            .assert_status(200),
        &json!({"role": "admin", "unrestricted": true})
    );
    // active admin gets an admin_signin link (admin wins over a partner with the same email)
    t.partner("boss@x.co", false).await;
    t.post("/auth/signin", None, json!({"email": "boss@x.co"}))
        .await
        .assert_status(200);
    let token = t
        .last_token("boss@x.co", "admin_signin")
        .await
        .expect("admin signin");
    assert_eq!(t.verify(&token).await.0.assert_status(200)["role"], "admin");
    assert!(t.last_token("boss@x.co", "partner_signin").await.is_none());
}

#[tokio::test]
async fn signout_revokes_the_cookie_session() {
    let t = start().await;
    let (_, session) = t.partner_session("a@x.co").await;
    let r = t.post("/auth/signout", Some(&session), json!({})).await;
    assert_eq!(r.assert_status(200), &json!({"ok": true}));
    assert_eq!(
        r.header("set-cookie"),
        Some("op_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
    );
    t.get("/auth/whoami", Some(&session))
        .await
        .assert_err(401, "unauthorized");
    // without any session it still answers 200
    let r = send(t.http.post(t.url("/auth/signout"))).await;
    assert_eq!(r.assert_status(200), &json!({"ok": true}));
}

#[tokio::test]
async fn whoami_and_introspect_per_principal() {
    let t = start().await;
    assert_eq!(
        t.get("/auth/whoami", Some(ADMIN)).await.assert_status(200),
        &json!({"role": "admin", "source": "env"})
    );
    let db_admin = t.admin_key().await;
    assert_eq!(
        t.get("/auth/whoami", Some(&db_admin))
            .await
            .assert_status(200),
        &json!({"role": "admin", "source": "db"})
    );
    let scoped = t
        .scoped_key(&["partners:read", "events:write", "custom:thing"])
        .await;
    t.get("/auth/whoami", Some(&scoped))
        .await
        .assert_err(403, "scoped_key_not_for_portal");
    assert_eq!(
        t.get("/auth/introspect", Some(&scoped))
            .await
            .assert_status(200),
        &json!({"role": "scoped", "scopes": ["partners:read", "events:write", "custom:thing"]})
    );
    let (pid, pkey) = t.partner_with_key("p@x.co").await;
    let r = t.get("/auth/whoami", Some(&pkey)).await;
    let b = r.assert_status(200);
    assert_eq!(b["role"], "partner");
    assert_eq!(b["partnerId"], pid.as_str());
    assert_eq!(b["partner"]["stripeConnected"], false);
    assert_eq!(
        t.get("/auth/introspect", Some(&pkey))
            .await
            .assert_status(200),
        &json!({"role": "partner", "restrictedTo": {"partnerId": pid}})
    );
    assert_eq!(
        t.get("/auth/introspect", Some(ADMIN))
            .await
            .assert_status(200),
        &json!({"role": "admin", "unrestricted": true})
    );
    t.get("/auth/whoami", None)
        .await
        .assert_err(401, "unauthorized");
    t.get("/auth/introspect", None)
        .await
        .assert_err(401, "unauthorized");
    let _: Value = Value::Null;
}

#[tokio::test]
async fn dev_mailbox_is_admin_only() {
    let t = start().await;
    t.get("/dev/mailbox", None)
        .await
        .assert_err(401, "unauthorized");
    let (_, pkey) = t.partner_with_key("p@x.co").await;
    t.get("/dev/mailbox", Some(&pkey))
        .await
        .assert_err(403, "forbidden");
    let scoped = t.scoped_key(&["partners:read"]).await;
    t.get("/dev/mailbox", Some(&scoped))
        .await
        .assert_err(403, "forbidden");
    t.partner("m@x.co", true).await;
    let r = t.get("/dev/mailbox?to=M@x.co", Some(ADMIN)).await;
    let msgs = r.assert_status(200)["messages"]
        .as_array()
        .expect("messages")
        .clone();
    assert_eq!(msgs.len(), 1);
    for k in ["to", "subject", "body", "metadata"] {
        assert!(msgs[0].get(k).is_some(), "{k}");
    }
    let r = t.get("/dev/mailbox?to=other@x.co", Some(ADMIN)).await;
    assert_eq!(r.assert_status(200)["messages"], json!([]));
}
