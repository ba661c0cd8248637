//! The credential cache (issue 7): a DB key or session is looked up once, then answered
//! from memory; every way of making a credential invalid takes effect on the very next
//! request. Each invalidation test first *uses* the credential so that it is cached (and
//! checks it is), then revokes it: without the invalidation the cached entry would keep
//! answering 200.

use std::time::Duration;

use openpartner_mock::Tenancy;
use serde_json::{json, Value};

use crate::common::*;

/// Number of cached credentials of the test server.
fn cached(t: &T) -> usize {
    t.srv.state().credentials.len()
}

/// Database jobs submitted so far.
fn jobs(t: &T) -> u64 {
    t.srv.state().db.jobs_submitted()
}

#[tokio::test]
async fn deleting_a_cached_key_is_401_on_the_next_request() {
    let t = start().await;
    let r = t
        .post(
            "/api-keys/scoped",
            Some(ADMIN),
            json!({"scopes": ["partners:read"]}),
        )
        .await;
    let k = r.assert_status(201).clone();
    let (id, key) = (k["id"].as_str().unwrap(), k["plaintext"].as_str().unwrap());
    t.get("/partners", Some(key)).await.assert_status(200);
    t.get("/partners", Some(key)).await.assert_status(200);
    assert_eq!(cached(&t), 1, "the key is cached");
    t.delete(&format!("/api-keys/{id}"), Some(ADMIN))
        .await
        .assert_status(200);
    t.get("/partners", Some(key))
        .await
        .assert_err(401, "unauthorized");
    assert_eq!(cached(&t), 0, "a revoked key is not cached again");
}

#[tokio::test]
async fn a_partner_deleting_its_own_cached_key_is_401_next() {
    let t = start().await;
    let (pid, key) = t.partner_with_key("a@x.co").await;
    let r = t.get("/auth/whoami", Some(&key)).await;
    assert_eq!(r.assert_status(200)["role"], "partner");
    let list = t
        .get(&format!("/partners/{pid}/api-keys"), Some(&key))
        .await;
    let id = list.assert_status(200)["apiKeys"][0]["id"]
        .as_str()
        .expect("key id")
        .to_owned();
    t.delete(&format!("/api-keys/{id}"), Some(&key))
        .await
        .assert_status(200);
    t.get("/auth/whoami", Some(&key))
        .await
        .assert_err(401, "unauthorized");
}

#[tokio::test]
async fn revoking_a_partner_is_401_for_its_cached_key_and_session() {
    let t = start().await;
    let (pid, session) = t.partner_session("a@x.co").await;
    let r = t
        .post(&format!("/partners/{pid}/api-keys"), Some(ADMIN), json!({}))
        .await;
    let key = r.assert_status(201)["plaintext"]
        .as_str()
        .unwrap()
        .to_owned();
    // another partner's credentials stay cached and valid
    let (_oid, other) = t.partner_with_key("b@x.co").await;
    for cred in [&key, &session, &other] {
        t.get("/auth/whoami", Some(cred)).await.assert_status(200);
    }
    assert_eq!(cached(&t), 3);
    t.post(&format!("/partners/{pid}/revoke"), Some(ADMIN), json!({}))
        .await
        .assert_status(200);
    t.get("/auth/whoami", Some(&key))
        .await
        .assert_err(401, "unauthorized");
    t.get("/auth/whoami", Some(&session))
        .await
        .assert_err(401, "unauthorized");
    t.get("/auth/whoami", Some(&other)).await.assert_status(200);
    // reinstating does not bring the revoked credentials back
    t.post(
        &format!("/partners/{pid}/reinstate"),
        Some(ADMIN),
        json!({}),
    )
    .await
    .assert_status(200);
    t.get("/auth/whoami", Some(&key))
        .await
        .assert_err(401, "unauthorized");
}

#[tokio::test]
async fn signing_out_is_401_for_the_cached_session() {
    let t = start().await;
    let (_, session) = t.partner_session("a@x.co").await;
    t.get("/auth/whoami", Some(&session))
        .await
        .assert_status(200);
    assert_eq!(cached(&t), 1);
    t.post("/auth/signout", Some(&session), json!({}))
        .await
        .assert_status(200);
    t.get("/auth/whoami", Some(&session))
        .await
        .assert_err(401, "unauthorized");
}

/// An activated admin with a session: (admin id, session token).
async fn admin_session(t: &T, email: &str) -> (String, String) {
    let r = t
        .post("/admins", Some(ADMIN), json!({"email": email, "name": "A"}))
        .await;
    let id = r.assert_status(201)["id"].as_str().unwrap().to_owned();
    let token = t.last_token(email, "admin_invite").await.expect("invite");
    let (r, s) = t.verify(&token).await;
    r.assert_status(200);
    (id, s.expect("session"))
}

#[tokio::test]
async fn revoking_an_admin_is_401_for_its_cached_session() {
    let t = start().await;
    let (aid, session) = admin_session(&t, "a@x.co").await;
    let (_bid, other) = admin_session(&t, "b@x.co").await;
    t.get("/auth/whoami", Some(&session))
        .await
        .assert_status(200);
    t.get("/auth/whoami", Some(&other)).await.assert_status(200);
    assert_eq!(cached(&t), 2);
    t.post(&format!("/admins/{aid}/revoke"), Some(&other), json!({}))
        .await
        .assert_status(200);
    t.get("/auth/whoami", Some(&session))
        .await
        .assert_err(401, "unauthorized");
    t.get("/auth/whoami", Some(&other)).await.assert_status(200);
}

#[tokio::test]
async fn a_cached_session_still_expires_on_the_server_clock() {
    let t = start().await;
    let (_, session) = t.partner_session("a@x.co").await;
    t.get("/auth/whoami", Some(&session))
        .await
        .assert_status(200);
    assert_eq!(cached(&t), 1);
    t.srv
        .clock()
        .advance(Duration::from_secs(30 * 24 * 3600 + 1));
    t.get("/auth/whoami", Some(&session))
        .await
        .assert_err(401, "unauthorized");
    assert_eq!(cached(&t), 0, "the expired entry is dropped");
}

#[tokio::test]
async fn last_used_at_is_refreshed_from_the_cache_once_a_minute() {
    let t = start().await;
    let key = t.scoped_key(&["partners:read"]).await;
    let last_used = || async {
        let r = t.get("/api-keys", Some(ADMIN)).await;
        r.assert_status(200)["apiKeys"][0]["lastUsedAt"].clone()
    };
    t.get("/partners", Some(&key)).await.assert_status(200);
    let first = last_used().await;
    assert!(first.is_string());
    t.srv.clock().advance(Duration::from_secs(30));
    t.get("/partners", Some(&key)).await.assert_status(200);
    assert_eq!(
        last_used().await,
        first,
        "within the minute nothing is written"
    );
    t.srv.clock().advance(Duration::from_secs(31));
    let before = jobs(&t);
    t.get("/partners", Some(&key)).await.assert_status(200);
    assert_eq!(jobs(&t) - before, 2, "one refresh job + the handler's");
    let second = last_used().await;
    assert!(second.is_string());
    assert_ne!(second, first, "refreshed after a minute");
}

/// A keyed event POST (fresh Idempotency-Key each time), counting the jobs it submits.
async fn event_jobs(t: &T, cred: &str, n: usize) -> u64 {
    let before = jobs(t);
    for i in 0..n {
        let r = send(
            t.http
                .post(t.url("/attribution/events"))
                .bearer_auth(cred)
                .header("idempotency-key", format!("ev-{cred:.6}-{i}-{}", jobs(t)))
                .json(&json!({"userId": format!("u{i}"), "type": "purchase", "value": "1.00"})),
        )
        .await;
        assert!(r.status == 200 || r.status == 201, "{}", r.text);
    }
    jobs(t) - before
}

#[tokio::test]
async fn a_keyed_event_post_is_one_db_job() {
    let t = start().await;
    let key = t.scoped_key(&["events:write"]).await;
    // the first request looks the key up (one extra job), then it is cached
    assert_eq!(event_jobs(&t, &key, 1).await, 2);
    assert_eq!(event_jobs(&t, &key, 20).await, 20, "one job per request");
    // the bootstrap admin key needs no lookup at all
    assert_eq!(event_jobs(&t, ADMIN, 5).await, 5);
}

#[tokio::test]
async fn multi_mode_caches_tenants_and_credentials() {
    let t = start_with(|c| {
        c.tenancy = Tenancy::Multi;
        c.tenants = vec!["acme".into(), "beta".into()];
    })
    .await;
    let key = t.scoped_key(&["events:write"]).await;
    assert_eq!(event_jobs(&t, &key, 1).await, 2);
    assert_eq!(event_jobs(&t, &key, 10).await, 10, "no tenant lookup job");
    assert_eq!(event_jobs(&t, ADMIN, 3).await, 3);
    // a key of acme is not a key of beta
    let r = send(
        t.http
            .get(format!("{}/partners", t.srv.tenant_url("beta")))
            .bearer_auth(&key),
    )
    .await;
    r.assert_err(401, "unauthorized");
    let unknown = send(t.http.get(format!("{}/partners", t.srv.tenant_url("nope")))).await;
    unknown.assert_err(404, "route_not_found");
    let _: Value = unknown.body;
}
