//! /admins: list, create, invite, revoke, reinstate and their errors.

use crate::common::*;
use serde_json::{json, Value};

async fn admin_session(t: &T, email: &str) -> (String, String) {
    let r = t
        .post(
            "/admins",
            Some(ADMIN),
            json!({"email": email, "name": "Admin"}),
        )
        .await;
    let id = r.assert_status(201)["id"].as_str().expect("id").to_owned();
    let token = t.last_token(email, "admin_invite").await.expect("invite");
    let (r, s) = t.verify(&token).await;
    r.assert_status(200);
    (id, s.expect("session"))
}

#[tokio::test]
async fn create_list_invite() {
    let t = start().await;
    let r = t
        .post(
            "/admins",
            Some(ADMIN),
            json!({"email": "A@x.co", "name": "A"}),
        )
        .await;
    let a = r.assert_status(201).clone();
    assert_eq!(a["email"], "a@x.co");
    assert_eq!(a["invited"], true);
    assert_eq!(a["activatedAt"], Value::Null);
    assert_eq!(a["tenantId"], DEFAULT_TENANT);
    t.post(
        "/admins",
        Some(ADMIN),
        json!({"email": "a@X.co", "name": "A2"}),
    )
    .await
    .assert_err(409, "email_taken");
    t.post(
        "/admins",
        Some(ADMIN),
        json!({"email": "bad", "name": "A2"}),
    )
    .await
    .assert_err(400, "invalid_body");
    let list = t.get("/admins", Some(ADMIN)).await;
    let list = list.assert_status(200)["admins"]
        .as_array()
        .expect("admins")
        .clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], a["id"]);
    assert!(list[0].get("invited").is_none());

    let id = a["id"].as_str().expect("id");
    assert_eq!(
        t.post(&format!("/admins/{id}/invite"), Some(ADMIN), json!({}))
            .await
            .assert_status(200),
        &json!({"ok": true})
    );
    let invites = t
        .mailbox()
        .await
        .iter()
        .filter(|m| m["metadata"]["purpose"] == "admin_invite")
        .count();
    assert_eq!(invites, 2);
    t.post("/admins/NOPE/invite", Some(ADMIN), json!({}))
        .await
        .assert_err(404, "not_found");
    let token = t.last_token("a@x.co", "admin_invite").await.expect("token");
    t.verify(&token).await.0.assert_status(200);
    t.post(&format!("/admins/{id}/invite"), Some(ADMIN), json!({}))
        .await
        .assert_err(409, "already_activated");
}

#[tokio::test]
async fn revoke_rules() {
    let t = start().await;
    let (a_id, a_session) = admin_session(&t, "a@x.co").await;
    // the only active admin cannot be revoked
    t.post(&format!("/admins/{a_id}/revoke"), Some(ADMIN), json!({}))
        .await
        .assert_err(409, "cannot_revoke_last_active_admin");
    let (b_id, b_session) = admin_session(&t, "b@x.co").await;
    // nobody revokes themselves
    t.post(
        &format!("/admins/{a_id}/revoke"),
        Some(&a_session),
        json!({}),
    )
    .await
    .assert_err(400, "cannot_revoke_self");
    // b revokes a
    let r = t
        .post(
            &format!("/admins/{a_id}/revoke"),
            Some(&b_session),
            json!({}),
        )
        .await;
    let b = r.assert_status(200);
    assert_eq!(b["ok"], true);
    assert!(b["revokedAt"].is_string());
    // a's session is dead
    t.get("/admins", Some(&a_session))
        .await
        .assert_err(401, "unauthorized");
    t.post(&format!("/admins/{a_id}/revoke"), Some(ADMIN), json!({}))
        .await
        .assert_err(409, "already_revoked");
    t.post("/admins/NOPE/revoke", Some(ADMIN), json!({}))
        .await
        .assert_err(404, "not_found");
    // b is now the last active admin
    t.post(&format!("/admins/{b_id}/revoke"), Some(ADMIN), json!({}))
        .await
        .assert_err(409, "cannot_revoke_last_active_admin");
    // a revoked admin cannot use a sign-in link nor be invited
    t.post("/auth/signin", None, json!({"email": "a@x.co"}))
        .await
        .assert_status(200);
    assert!(t.last_token("a@x.co", "admin_signin").await.is_none());
    t.post(&format!("/admins/{a_id}/invite"), Some(ADMIN), json!({}))
        .await
        .assert_err(409, "already_activated");

    // pending admins can be revoked freely; their invite link is then refused
    let r = t
        .post(
            "/admins",
            Some(ADMIN),
            json!({"email": "p@x.co", "name": "P"}),
        )
        .await;
    let p_id = r.assert_status(201)["id"].as_str().expect("id").to_owned();
    let token = t.last_token("p@x.co", "admin_invite").await.expect("token");
    t.post(&format!("/admins/{p_id}/revoke"), Some(ADMIN), json!({}))
        .await
        .assert_status(200);
    t.verify(&token).await.0.assert_err(403, "admin_revoked");
    t.post(&format!("/admins/{p_id}/invite"), Some(ADMIN), json!({}))
        .await
        .assert_err(409, "admin_revoked");

    // reinstate
    assert_eq!(
        t.post(&format!("/admins/{a_id}/reinstate"), Some(ADMIN), json!({}))
            .await
            .assert_status(200),
        &json!({"ok": true})
    );
    t.post(&format!("/admins/{a_id}/reinstate"), Some(ADMIN), json!({}))
        .await
        .assert_err(409, "not_revoked");
    t.post("/admins/NOPE/reinstate", Some(ADMIN), json!({}))
        .await
        .assert_err(404, "not_found");
    // the old session stays dead; a new sign-in works
    t.get("/admins", Some(&a_session))
        .await
        .assert_err(401, "unauthorized");
    t.post("/auth/signin", None, json!({"email": "a@x.co"}))
        .await
        .assert_status(200);
    let token = t
        .last_token("a@x.co", "admin_signin")
        .await
        .expect("signin");
    t.verify(&token).await.0.assert_status(200);
}
