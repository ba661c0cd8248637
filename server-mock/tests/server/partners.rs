//! Partners: create, list (keyset), get, by-external-id, invite, revoke, reinstate.

use std::collections::HashSet;

use crate::common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn create_with_invite_mails_and_records_event() {
    let t = start().await;
    let r = t
        .post(
            "/partners",
            Some(ADMIN),
            json!({"email": "Alice@Example.COM", "name": "Alice", "metadata": {"tier": "gold"}, "externalId": "crm-1"}),
        )
        .await;
    let p = r.assert_status(201).clone();
    assert_eq!(p["email"], "alice@example.com");
    assert_eq!(p["name"], "Alice");
    assert_eq!(p["tenantId"], DEFAULT_TENANT);
    assert_eq!(p["externalId"], "crm-1");
    assert_eq!(p["metadata"], json!({"tier": "gold"}));
    assert_eq!(p["invited"], true);
    assert_eq!(p["activatedAt"], Value::Null);
    assert_eq!(p["revokedAt"], Value::Null);
    assert_eq!(p["revokeReason"], Value::Null);
    assert_eq!(p["stripeConnectAccountId"], Value::Null);
    let id = p["id"].as_str().expect("id");
    assert_eq!(id.len(), 26);
    let created = p["createdAt"].as_str().expect("createdAt");
    assert_eq!(created.len(), 24, "ISO with ms: {created}");
    assert!(created.ends_with('Z'));

    let mail = t.mailbox().await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["to"], "alice@example.com");
    assert_eq!(mail[0]["metadata"]["purpose"], "partner_invite");
    let token = mail[0]["metadata"]["token"].as_str().expect("token");
    assert!(token.starts_with("opml_") && token.len() == 53, "{token}");
    assert_eq!(
        mail[0]["metadata"]["url"],
        format!("{}/auth/magic?token={token}", t.srv.base_url)
    );

    let events = t.sql_i64(
        "SELECT COUNT(*) FROM outbox WHERE event_type = 'partner.created' AND json_extract(data, '$.partnerId') = ?1 AND json_extract(data, '$.invited') = 1",
        &[&id],
    );
    assert_eq!(events, 1);
}

#[tokio::test]
async fn create_without_invite_is_active_and_silent() {
    let t = start().await;
    let p = t.partner("b@x.co", false).await;
    assert_eq!(p["invited"], false);
    assert!(p["activatedAt"].is_string());
    assert!(t.mailbox().await.is_empty());
}

#[tokio::test]
async fn create_conflicts_and_program_validation() {
    let t = start().await;
    t.partner("a@x.co", false).await;
    t.post(
        "/partners",
        Some(ADMIN),
        json!({"email": "A@X.CO", "name": "Again"}),
    )
    .await
    .assert_err(409, "email_taken");
    t.post(
        "/partners",
        Some(ADMIN),
        json!({"email": "e1@x.co", "name": "E", "externalId": "ext"}),
    )
    .await
    .assert_status(201);
    t.post(
        "/partners",
        Some(ADMIN),
        json!({"email": "e2@x.co", "name": "E", "externalId": "ext"}),
    )
    .await
    .assert_err(409, "external_id_taken");

    let r = t
        .post(
            "/partners",
            Some(ADMIN),
            json!({"email": "c@x.co", "name": "C", "programIds": ["nope", "cmp_default"]}),
        )
        .await;
    r.assert_err(400, "unknown_campaign_ids");
    assert_eq!(r.body["missing"], json!(["nope", "cmp_default"]));

    insert_program(&t, DEFAULT_TENANT, "cmp_default");
    insert_program(&t, DEFAULT_TENANT, "cmp_other");
    let r = t
        .post(
            "/partners",
            Some(ADMIN),
            json!({"email": "c@x.co", "name": "C", "programIds": ["cmp_default", "nope"]}),
        )
        .await;
    r.assert_err(400, "unknown_campaign_ids");
    assert_eq!(r.body["missing"], json!(["nope"]));

    // explicit grant
    let p = t
        .post(
            "/partners",
            Some(ADMIN),
            json!({"email": "c@x.co", "name": "C", "programIds": ["cmp_default"]}),
        )
        .await
        .assert_status(201)
        .clone();
    let pid = p["id"].as_str().expect("id");
    assert_eq!(
        t.sql_i64(
            "SELECT COUNT(*) FROM partner_programs WHERE partner_id = ?1",
            &[&pid]
        ),
        1
    );
    let owned_pid = pid.to_owned();
    let grant_id: String = t
        .srv
        .state()
        .db
        .with_blocking(move |c| {
            c.query_row(
                "SELECT id FROM partner_programs WHERE partner_id = ?1",
                [owned_pid],
                |r| r.get(0),
            )
            .expect("grant")
        })
        .expect("db");
    assert!(grant_id.starts_with("pc_"));
    // omitted → all programs
    let p = t.partner("d@x.co", false).await;
    let pid = p["id"].as_str().expect("id");
    assert_eq!(
        t.sql_i64(
            "SELECT COUNT(*) FROM partner_programs WHERE partner_id = ?1",
            &[&pid]
        ),
        2
    );
    // [] → none
    let p = t
        .post(
            "/partners",
            Some(ADMIN),
            json!({"email": "e@x.co", "name": "E", "programIds": []}),
        )
        .await
        .assert_status(201)
        .clone();
    let pid = p["id"].as_str().expect("id");
    assert_eq!(
        t.sql_i64(
            "SELECT COUNT(*) FROM partner_programs WHERE partner_id = ?1",
            &[&pid]
        ),
        0
    );
    // programIds in the event
    let n = t.sql_i64(
        "SELECT json_array_length(data, '$.programIds') FROM outbox WHERE json_extract(data, '$.email') = 'd@x.co'",
        &[],
    );
    assert_eq!(n, 2);
}

#[tokio::test]
async fn get_and_by_external_id() {
    let t = start().await;
    let r = t
        .post(
            "/partners",
            Some(ADMIN),
            json!({"email": "a@x.co", "name": "A", "externalId": "crm-9", "sendInvite": false}),
        )
        .await;
    let p = r.assert_status(201).clone();
    let id = p["id"].as_str().expect("id");
    let got = t.get(&format!("/partners/{id}"), Some(ADMIN)).await;
    let got = got.assert_status(200);
    assert_eq!(got["id"], id);
    assert!(got.get("invited").is_none(), "bare row");
    t.get("/partners/NOPE", Some(ADMIN))
        .await
        .assert_err(404, "not_found");

    let r = t.get("/partners/by-external-id/crm-9", Some(ADMIN)).await;
    assert_eq!(r.assert_status(200)["id"], id);
    t.get("/partners/by-external-id/none", Some(ADMIN))
        .await
        .assert_err(404, "not_found");
}

#[tokio::test]
async fn list_filters_limits_and_cursor_errors() {
    let t = start().await;
    for i in 0..3 {
        t.partner(&format!("p{i}@x.co"), false).await;
    }
    let r = t.get("/partners", Some(ADMIN)).await;
    let b = r.assert_status(200);
    assert_eq!(b["partners"].as_array().map(Vec::len), Some(3));
    assert_eq!(b["nextCursor"], Value::Null);
    // newest first
    assert_eq!(b["partners"][0]["email"], "p2@x.co");

    let r = t.get("/partners?email=P1@X.CO", Some(ADMIN)).await;
    let b = r.assert_status(200);
    assert_eq!(b["partners"].as_array().map(Vec::len), Some(1));
    assert_eq!(b["partners"][0]["email"], "p1@x.co");

    for bad in ["0", "201", "abc", "-1", "1.5"] {
        let r = t.get(&format!("/partners?limit={bad}"), Some(ADMIN)).await;
        r.assert_err(400, "invalid_query");
        assert!(r.body["detail"]["fieldErrors"]["limit"].is_array());
    }
    t.get("/partners?limit=200", Some(ADMIN))
        .await
        .assert_status(200);
    for bad in ["!!!", "bm9wZQ", "fHg"] {
        t.get(&format!("/partners?cursor={bad}"), Some(ADMIN))
            .await
            .assert_err(400, "invalid_cursor");
    }

    let r = t.get("/partners?limit=2", Some(ADMIN)).await;
    let b = r.assert_status(200).clone();
    assert_eq!(b["partners"].as_array().map(Vec::len), Some(2));
    let cur = b["nextCursor"].as_str().expect("cursor");
    assert!(!cur.contains('='));
    let r = t
        .get(&format!("/partners?limit=2&cursor={cur}"), Some(ADMIN))
        .await;
    let b2 = r.assert_status(200);
    assert_eq!(b2["partners"].as_array().map(Vec::len), Some(1));
    assert_eq!(b2["partners"][0]["email"], "p0@x.co");
    assert_eq!(b2["nextCursor"], Value::Null);
    // padded cursor accepted
    let padded = format!("{cur}{}", "=".repeat((4 - cur.len() % 4) % 4));
    let r = t
        .get(
            &format!("/partners?limit=2&cursor={}", padded.replace('=', "%3D")),
            Some(ADMIN),
        )
        .await;
    assert_eq!(r.assert_status(200)["partners"][0]["email"], "p0@x.co");
}

#[tokio::test]
async fn keyset_pagination_over_ties_has_no_duplicates_or_gaps() {
    let t = start().await;
    // 23 partners sharing one createdAt ms, 7 at another, 5 unique
    let mut expected = HashSet::new();
    for i in 0..35 {
        let ts = if i < 23 {
            "2026-05-01T10:00:00.000Z".to_owned()
        } else if i < 30 {
            "2026-05-02T10:00:00.000Z".to_owned()
        } else {
            format!("2026-04-0{}T10:00:00.000Z", i - 29)
        };
        let id = ulid::Ulid::new().to_string();
        t.sql(
            "INSERT INTO partners (id, tenant_id, email, name, created_at, updated_at) VALUES (?1, ?2, ?3, 'P', ?4, ?4)",
            &[&id, &DEFAULT_TENANT, &format!("tie{i}@x.co"), &ts],
        );
        expected.insert(id);
    }
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/partners?limit=4&cursor={c}"),
            None => "/partners?limit=4".to_owned(),
        };
        let r = t.get(&path, Some(ADMIN)).await;
        let b = r.assert_status(200).clone();
        for p in b["partners"].as_array().expect("array") {
            seen.push((
                p["createdAt"].as_str().expect("ts").to_owned(),
                p["id"].as_str().expect("id").to_owned(),
            ));
        }
        pages += 1;
        match b["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages < 20);
    }
    assert_eq!(pages, 9);
    let ids: HashSet<String> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(ids.len(), seen.len(), "no duplicates");
    assert_eq!(ids, expected, "no gaps");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "ordered by (createdAt desc, id desc)");
}

#[tokio::test]
async fn invite_revoke_reinstate() {
    let t = start().await;
    let p = t.partner("a@x.co", true).await;
    let id = p["id"].as_str().expect("id").to_owned();
    let r = t
        .post(&format!("/partners/{id}/invite"), Some(ADMIN), json!({}))
        .await;
    assert_eq!(r.assert_status(200), &json!({"ok": true}));
    let invites = t
        .mailbox()
        .await
        .iter()
        .filter(|m| m["metadata"]["purpose"] == "partner_invite")
        .count();
    assert_eq!(invites, 2);
    t.post("/partners/NOPE/invite", Some(ADMIN), json!({}))
        .await
        .assert_err(404, "not_found");
    let active = t.partner("b@x.co", false).await;
    let bid = active["id"].as_str().expect("id");
    t.post(&format!("/partners/{bid}/invite"), Some(ADMIN), json!({}))
        .await
        .assert_err(409, "already_activated");

    // revoke with a bare POST (no body) uses the defaults
    let r = send(
        t.http
            .post(t.url(&format!("/partners/{id}/revoke")))
            .bearer_auth(ADMIN),
    )
    .await;
    let b = r.assert_status(200).clone();
    assert_eq!(b["ok"], true);
    assert_eq!(b["notified"], true);
    assert_eq!(b["notifyError"], Value::Null);
    assert!(b["revokedAt"].is_string());
    t.post(&format!("/partners/{id}/revoke"), Some(ADMIN), json!({}))
        .await
        .assert_err(409, "already_revoked");
    t.post("/partners/NOPE/revoke", Some(ADMIN), json!({}))
        .await
        .assert_err(404, "not_found");
    let row = t.get(&format!("/partners/{id}"), Some(ADMIN)).await;
    assert_eq!(row.assert_status(200)["revokedAt"], b["revokedAt"]);

    let r = t
        .post(
            &format!("/partners/{bid}/revoke"),
            Some(ADMIN),
            json!({"reason": "fraud", "notify": false}),
        )
        .await;
    assert_eq!(r.assert_status(200)["notified"], false);
    let row = t.get(&format!("/partners/{bid}"), Some(ADMIN)).await;
    assert_eq!(row.assert_status(200)["revokeReason"], "fraud");
    t.post(
        &format!("/partners/{bid}/revoke"),
        Some(ADMIN),
        json!({"reason": "x".repeat(501)}),
    )
    .await
    .assert_err(400, "invalid_body");

    let r = t
        .post(
            &format!("/partners/{bid}/reinstate"),
            Some(ADMIN),
            json!({}),
        )
        .await;
    assert_eq!(r.assert_status(200), &json!({"ok": true}));
    let row = t.get(&format!("/partners/{bid}"), Some(ADMIN)).await;
    assert_eq!(row.assert_status(200)["revokedAt"], Value::Null);
    t.post(
        &format!("/partners/{bid}/reinstate"),
        Some(ADMIN),
        json!({}),
    )
    .await
    .assert_err(409, "not_revoked");
    t.post("/partners/NOPE/reinstate", Some(ADMIN), json!({}))
        .await
        .assert_err(404, "not_found");
}

#[tokio::test]
async fn revoking_a_partner_kills_its_keys_and_sessions() {
    let t = start().await;
    let (pid, key) = t.partner_with_key("k@x.co").await;
    let (sid_partner, session) = t.partner_session("s@x.co").await;
    t.get(&format!("/partners/{pid}"), Some(&key))
        .await
        .assert_status(200);
    t.get(&format!("/partners/{sid_partner}"), Some(&session))
        .await
        .assert_status(200);

    t.post(
        &format!("/partners/{pid}/revoke"),
        Some(ADMIN),
        json!({"notify": false}),
    )
    .await
    .assert_status(200);
    t.post(
        &format!("/partners/{sid_partner}/revoke"),
        Some(ADMIN),
        json!({"notify": false}),
    )
    .await
    .assert_status(200);
    t.get(&format!("/partners/{pid}"), Some(&key))
        .await
        .assert_err(401, "unauthorized");
    t.get("/auth/whoami", Some(&session))
        .await
        .assert_err(401, "unauthorized");

    // keys are marked revoked; reinstating does not bring them back
    let keys = t
        .get(&format!("/partners/{pid}/api-keys"), Some(ADMIN))
        .await;
    assert!(keys.assert_status(200)["apiKeys"][0]["revokedAt"].is_string());
    t.post(
        &format!("/partners/{pid}/reinstate"),
        Some(ADMIN),
        json!({}),
    )
    .await
    .assert_status(200);
    t.get(&format!("/partners/{pid}"), Some(&key))
        .await
        .assert_err(401, "unauthorized");
    // a revoked partner cannot get a new key
    t.post(
        &format!("/partners/{sid_partner}/api-keys"),
        Some(ADMIN),
        json!({}),
    )
    .await
    .assert_err(409, "partner_revoked");
}
