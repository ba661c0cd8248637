//! API keys and the [EXT] IP allowlist.

use crate::common::*;
use openpartner_mock::config::parse_cidrs;
use serde_json::{json, Value};

#[tokio::test]
async fn admin_and_scoped_keys() {
    let t = start().await;
    let r = t
        .post("/api-keys", Some(ADMIN), json!({"label": "ci"}))
        .await;
    let b = r.assert_status(201).clone();
    let key = b["plaintext"].as_str().expect("plaintext");
    assert!(key.starts_with("op_") && key.len() == 51);
    assert!(key[3..]
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(b["allowedIps"], json!([]));
    assert_eq!(b["id"].as_str().map(str::len), Some(26));
    // never stored in plaintext
    assert_eq!(
        t.sql_i64(
            "SELECT COUNT(*) FROM api_keys WHERE key_hash = ?1 OR prefix = ?1",
            &[&key]
        ),
        0
    );
    assert_eq!(
        t.get("/auth/whoami", Some(key)).await.assert_status(200)["source"],
        "db"
    );

    let r = t
        .post(
            "/api-keys/scoped",
            Some(ADMIN),
            json!({"scopes": ["partners:read", "partners:write", "partners:read"]}),
        )
        .await;
    let s = r.assert_status(201).clone();
    assert_eq!(s["scopes"], json!(["partners:read", "partners:write"]));
    let skey = s["plaintext"].as_str().expect("plaintext").to_owned();
    for bad in [
        json!({}),
        json!({"scopes": []}),
        json!({"scopes": ["ab"]}),
        json!({"scopes": ["x".repeat(65)]}),
        json!({"scopes": "partners:read"}),
    ] {
        t.post("/api-keys/scoped", Some(ADMIN), bad)
            .await
            .assert_err(400, "invalid_body");
    }
    t.scoped_key(&["events:write"]).await;

    let r = t.get("/api-keys", Some(ADMIN)).await;
    let list = r.assert_status(200)["apiKeys"]
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(list.len(), 2, "only scoped keys");
    let first = list.iter().find(|k| k["id"] == s["id"]).expect("listed");
    assert_eq!(first["label"], "scoped");
    assert_eq!(first["prefix"], &skey[..8]);
    assert_eq!(first["scopes"], json!(["partners:read", "partners:write"]));
    assert_eq!(first["lastUsedAt"], Value::Null);
    assert_eq!(first["revokedAt"], Value::Null);
    assert!(first["createdAt"].is_string());

    let r = t.get("/api-keys?scope=events:write", Some(ADMIN)).await;
    let list = r.assert_status(200)["apiKeys"]
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["scopes"], json!(["events:write"]));

    // lastUsedAt updated
    t.get("/partners", Some(&skey)).await.assert_status(200);
    let r = t.get("/api-keys?scope=partners:read", Some(ADMIN)).await;
    assert!(r.assert_status(200)["apiKeys"][0]["lastUsedAt"].is_string());

    // delete → 401 afterwards; deleting again is still ok; unknown → 404
    let sid = s["id"].as_str().expect("id");
    assert_eq!(
        t.delete(&format!("/api-keys/{sid}"), Some(ADMIN))
            .await
            .assert_status(200),
        &json!({"ok": true})
    );
    t.get("/partners", Some(&skey))
        .await
        .assert_err(401, "unauthorized");
    t.delete(&format!("/api-keys/{sid}"), Some(ADMIN))
        .await
        .assert_status(200);
    t.delete("/api-keys/NOPE", Some(ADMIN))
        .await
        .assert_err(404, "not_found");
    let r = t.get("/api-keys?scope=partners:read", Some(ADMIN)).await;
    assert!(r.assert_status(200)["apiKeys"][0]["revokedAt"].is_string());
}

#[tokio::test]
async fn partner_keys_self_service() {
    let t = start().await;
    let (pid, pkey) = t.partner_with_key("a@x.co").await;
    let (oid, okey) = t.partner_with_key("b@x.co").await;
    // partner creates its own key
    let r = t
        .post(
            &format!("/partners/{pid}/api-keys"),
            Some(&pkey),
            json!({"label": "mine"}),
        )
        .await;
    let own = r.assert_status(201).clone();
    assert!(own["plaintext"].as_str().expect("pt").starts_with("op_"));
    t.post(&format!("/partners/{oid}/api-keys"), Some(&pkey), json!({}))
        .await
        .assert_err(403, "forbidden");
    t.post("/partners/NOPE/api-keys", Some(ADMIN), json!({}))
        .await
        .assert_err(404, "partner_not_found");
    t.get("/partners/NOPE/api-keys", Some(ADMIN))
        .await
        .assert_err(404, "partner_not_found");

    let r = t
        .get(&format!("/partners/{pid}/api-keys"), Some(&pkey))
        .await;
    let keys = r.assert_status(200)["apiKeys"]
        .as_array()
        .expect("keys")
        .clone();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.get("scopes").is_none()));
    assert!(keys.iter().any(|k| k["label"] == "mine"));
    t.get(&format!("/partners/{oid}/api-keys"), Some(&pkey))
        .await
        .assert_err(403, "forbidden");

    // partner deletes its own key, not another's
    let other_key_id = t
        .get(&format!("/partners/{oid}/api-keys"), Some(ADMIN))
        .await
        .body["apiKeys"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    t.delete(&format!("/api-keys/{other_key_id}"), Some(&pkey))
        .await
        .assert_err(403, "forbidden");
    t.get("/auth/whoami", Some(&okey)).await.assert_status(200);
    let own_id = own["id"].as_str().expect("id");
    t.delete(&format!("/api-keys/{own_id}"), Some(&pkey))
        .await
        .assert_status(200);
    let scoped = t.scoped_key(&["partners:write"]).await;
    t.delete(&format!("/api-keys/{other_key_id}"), Some(&scoped))
        .await
        .assert_err(403, "forbidden");
    t.delete(&format!("/api-keys/{other_key_id}"), None)
        .await
        .assert_err(401, "unauthorized");
}

#[tokio::test]
async fn ip_allowlist_without_trusted_proxies() {
    let t = start().await;
    for bad in [
        json!({"allowedIps": ["10.0.0.300"]}),
        json!({"allowedIps": ["nope"]}),
        json!({"allowedIps": "10.0.0.0/8"}),
    ] {
        t.post("/api-keys", Some(ADMIN), bad)
            .await
            .assert_err(400, "invalid_body");
    }
    let r = t
        .post(
            "/api-keys",
            Some(ADMIN),
            json!({"allowedIps": ["10.0.0.0/8", "2001:db8::/32"]}),
        )
        .await;
    let b = r.assert_status(201).clone();
    assert_eq!(b["allowedIps"], json!(["10.0.0.0/8", "2001:db8::/32"]));
    let blocked = b["plaintext"].as_str().expect("pt").to_owned();
    t.get("/partners", Some(&blocked))
        .await
        .assert_err(403, "ip_not_allowed");
    // a spoofed X-Forwarded-For does not help without trusted proxies
    let r = send(
        t.http
            .get(t.url("/partners"))
            .bearer_auth(&blocked)
            .header("x-forwarded-for", "10.1.2.3"),
    )
    .await;
    r.assert_err(403, "ip_not_allowed");

    let r = t
        .post(
            "/api-keys",
            Some(ADMIN),
            json!({"allowedIps": ["127.0.0.1"]}),
        )
        .await;
    let ok = r.assert_status(201)["plaintext"]
        .as_str()
        .expect("pt")
        .to_owned();
    t.get("/partners", Some(&ok)).await.assert_status(200);

    // checked after authentication, before role checks: a partner key from a blocked
    // address on an admin route gets ip_not_allowed, not forbidden
    let (pid, _) = t.partner_with_key("p@x.co").await;
    let r = t
        .post(
            &format!("/partners/{pid}/api-keys"),
            Some(ADMIN),
            json!({"allowedIps": ["192.168.0.0/16"]}),
        )
        .await;
    let pkey = r.assert_status(201)["plaintext"]
        .as_str()
        .expect("pt")
        .to_owned();
    t.get("/admins", Some(&pkey))
        .await
        .assert_err(403, "ip_not_allowed");
    // and a scoped key lacking the scope
    let r = t
        .post(
            "/api-keys/scoped",
            Some(ADMIN),
            json!({"scopes": ["events:write"], "allowedIps": ["192.168.0.0/16"]}),
        )
        .await;
    let b = r.assert_status(201).clone();
    assert_eq!(b["allowedIps"], json!(["192.168.0.0/16"]));
    let skey = b["plaintext"].as_str().expect("pt");
    t.get("/partners", Some(skey))
        .await
        .assert_err(403, "ip_not_allowed");
    let list = t.get("/api-keys", Some(ADMIN)).await;
    assert_eq!(
        list.assert_status(200)["apiKeys"][0]["allowedIps"],
        json!(["192.168.0.0/16"])
    );
    // invalid credentials still 401
    t.get(
        "/partners",
        Some("op_ffffffffffffffffffffffffffffffffffffffffffffffff"),
    )
    .await
    .assert_err(401, "unauthorized");
}

#[tokio::test]
async fn ip_allowlist_with_trusted_proxies() {
    let t = start_with(|c| c.trusted_proxies = parse_cidrs("127.0.0.1/32").expect("cidr")).await;
    let r = t
        .post(
            "/api-keys",
            Some(ADMIN),
            json!({"allowedIps": ["10.0.0.0/8"]}),
        )
        .await;
    let key = r.assert_status(201)["plaintext"]
        .as_str()
        .expect("pt")
        .to_owned();
    let with_xff = |xff: &str| {
        t.http
            .get(t.url("/partners"))
            .bearer_auth(&key)
            .header("x-forwarded-for", xff.to_owned())
    };
    send(with_xff("10.1.2.3")).await.assert_status(200);
    // right-most untrusted entry counts: a client-forged left entry does not help
    send(with_xff("10.9.9.9, 203.0.113.7"))
        .await
        .assert_err(403, "ip_not_allowed");
    // trusted hops are skipped
    send(with_xff("10.1.2.3, 127.0.0.1"))
        .await
        .assert_status(200);
    // IPv4-mapped IPv6 matches as IPv4
    send(with_xff("::ffff:10.2.3.4")).await.assert_status(200);
    // no header → the peer (127.0.0.1) is the client
    t.get("/partners", Some(&key))
        .await
        .assert_err(403, "ip_not_allowed");
    send(with_xff("garbage"))
        .await
        .assert_err(403, "ip_not_allowed");
}

#[test]
fn client_ip_resolution() {
    use openpartner_mock::middleware::client_ip;
    let trusted = parse_cidrs("10.0.0.0/8,::1/128").expect("cidrs");
    let peer: std::net::IpAddr = "10.0.0.1".parse().expect("ip");
    let outside: std::net::IpAddr = "198.51.100.1".parse().expect("ip");
    assert_eq!(client_ip(outside, Some("1.2.3.4"), &trusted), outside);
    assert_eq!(
        client_ip(peer, Some("1.2.3.4, 10.0.0.5"), &trusted).to_string(),
        "1.2.3.4"
    );
    assert_eq!(
        client_ip(peer, Some("10.0.0.7, 10.0.0.5"), &trusted).to_string(),
        "10.0.0.7"
    );
    assert_eq!(client_ip(peer, None, &trusted), peer);
    assert_eq!(client_ip(peer, Some("1.2.3.4"), &[]), peer);
    let mapped: std::net::IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
    assert_eq!(
        client_ip(mapped, Some("5.6.7.8"), &trusted).to_string(),
        "5.6.7.8"
    );
}
