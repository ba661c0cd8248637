//! Listing formats, revoke/reinstate, exit codes for 404/409/401, and masking in logs.

use openpartner_e2e::{assert_ok, error_lines, Env, ADMIN_KEY};
use serde_json::Value;

#[test]
fn list_as_json_ndjson_and_csv() {
    let env = Env::start();
    let ids = env.create_partners(25, 4);
    assert_eq!(ids.len(), 25);

    // JSON: one array, every partner once, newest first (ids are ULIDs: same order).
    let text = env.ok(&["partners", "list", "-o", "json", "--page-size", "7"]);
    let items: Vec<Value> = serde_json::from_str(&text).expect("json array");
    assert_eq!(items.len(), 25);
    let mut got: Vec<String> = items
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_string())
        .collect();
    let listed = got.clone();
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
    // Keyset order (createdAt desc, id desc), API.md §4.
    let typed: Vec<openpartner::types::Partner> =
        serde_json::from_str(&text).expect("output decodes as SDK partners");
    let keys: Vec<_> = typed.iter().map(|p| (p.created_at, p.id.clone())).collect();
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "not newest first: {keys:?}"
    );
    assert_eq!(listed.len(), 25);
    // Wire names straight from API.md §3.1.
    for key in [
        "id",
        "tenantId",
        "email",
        "name",
        "metadata",
        "createdAt",
        "updatedAt",
    ] {
        assert!(items[0].get(key).is_some(), "missing {key}: {}", items[0]);
    }

    // NDJSON with a limit.
    let text = env.ok(&["partners", "list", "-o", "ndjson", "--limit", "5"]);
    assert_eq!(text.lines().count(), 5);
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("one object per line");
        assert!(v["email"]
            .as_str()
            .is_some_and(|e| e.ends_with("@bulk.example.com")));
    }

    // CSV: stable header, one row per partner, nested metadata as JSON text.
    let out = env.ok(&["partners", "list", "-o", "csv"]);
    let mut rdr = csv::Reader::from_reader(out.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        headers,
        [
            "id",
            "email",
            "name",
            "externalId",
            "tenantId",
            "stripeConnectAccountId",
            "metadata",
            "createdAt",
            "updatedAt",
            "activatedAt",
            "revokedAt",
            "revokeReason"
        ]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 25);
    for row in &rows {
        assert!(ids.contains(&row[0].to_string()));
        assert_eq!(&row[6], "{}");
        assert!(
            row[9].len() >= 20,
            "activatedAt set (no invite): {:?}",
            &row[9]
        );
        assert_eq!(&row[10], "");
    }

    // Filter by email (case-insensitive on the server).
    let items = env.json_rows(&[
        "partners",
        "list",
        "-o",
        "json",
        "--email",
        "P00003@BULK.example.com",
    ]);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["email"], "p00003@bulk.example.com");
}

#[test]
fn create_get_revoke_reinstate_with_exit_codes() {
    let env = Env::start();
    let created = env.json(&[
        "partners",
        "create",
        "--email",
        "Rev@Example.com",
        "--name",
        "Rev Partner",
        "--metadata",
        r#"{"tier":"gold"}"#,
        "--no-invite",
        "-o",
        "json",
    ]);
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["email"], "rev@example.com");
    assert_eq!(created["metadata"]["tier"], "gold");
    assert_eq!(created["invited"], false);

    // Same email again → 409 email_taken → exit 6.
    env.cli()
        .args([
            "partners",
            "create",
            "--email",
            "rev@example.com",
            "--name",
            "X",
        ])
        .assert()
        .code(6)
        .stderr(predicates::str::contains("email_taken"));

    let revoked = env.json(&[
        "partners",
        "revoke",
        &id,
        "--reason",
        "fraud review",
        "--no-notify",
        "-o",
        "json",
    ]);
    assert_eq!(revoked["notified"], false);
    assert!(revoked["revokedAt"].is_string(), "{revoked}");

    let p = env.json(&["partners", "get", &id, "-o", "json"]);
    assert!(p["revokedAt"].is_string());
    assert_eq!(p["revokeReason"], "fraud review");

    env.cli()
        .args(["partners", "revoke", &id])
        .assert()
        .code(6)
        .stderr(predicates::str::contains("already_revoked"));
    env.cli()
        .args(["partners", "reinstate", &id])
        .assert()
        .success();
    env.cli()
        .args(["partners", "reinstate", &id])
        .assert()
        .code(6)
        .stderr(predicates::str::contains("not_revoked"));
    let p = env.json(&["partners", "get", &id, "-o", "json"]);
    assert!(p["revokedAt"].is_null(), "{p}");

    // Unknown partner → exit 3, one error line with the request id.
    let out = env
        .cli()
        .args(["partners", "get", "01JNOPE0000000000000000000"])
        .assert()
        .code(3)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).expect("utf8");
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("404") && errors[0].contains("request id"),
        "{stderr}"
    );
}

#[test]
fn wrong_key_exits_4_with_one_line_and_no_secret() {
    let env = Env::start();
    let bad = "op_badbadbadbadbadbadbadbadbadbadbadbadbadbadbadbad0";
    let out = env
        .cli()
        .env("OPENPARTNER_API_KEY", bad)
        .args(["partners", "list"])
        .assert()
        .code(4)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).expect("utf8");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains("401") && stderr.contains("unauthorized"),
        "{stderr}"
    );
    assert!(!stderr.contains(bad), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn verbose_logging_masks_keys_and_new_plaintexts() {
    let env = Env::start();
    let args = [
        "-vv",
        "api-keys",
        "create-scoped",
        "--scope",
        "partners:read",
        "-o",
        "json",
    ];
    let out = env.run(&args);
    assert_ok(&out, &args);
    let key: Value = serde_json::from_slice(&out.stdout).expect("json");
    let plaintext = key["plaintext"].as_str().expect("plaintext").to_string();
    assert!(plaintext.starts_with("op_"));
    let stderr = String::from_utf8(out.stderr).expect("utf8");
    assert!(stderr.contains("api-keys/scoped"), "no HTTP log: {stderr}");
    assert!(!stderr.contains(ADMIN_KEY), "admin key leaked: {stderr}");
    assert!(
        !stderr.contains(&plaintext),
        "new key leaked in logs: {stderr}"
    );
    assert!(
        !stderr.contains(&plaintext[8..]),
        "new key tail leaked: {stderr}"
    );
}

#[test]
fn invites_and_admins() {
    let env = Env::start();
    // A partner created with an invite is pending; a new invite works; an activated one 409s.
    let p = env.json(&[
        "partners",
        "create",
        "--email",
        "inv@example.com",
        "--name",
        "Inv",
        "-o",
        "json",
    ]);
    assert_eq!(p["invited"], true);
    assert!(p["activatedAt"].is_null());
    let pending = p["id"].as_str().expect("id").to_string();
    env.cli()
        .args(["partners", "invite", &pending])
        .assert()
        .success();
    let active = env.create_partners(1, 1).remove(0);
    env.cli()
        .args(["partners", "invite", &active])
        .assert()
        .code(6)
        .stderr(predicates::str::contains("already_activated"));
    let mails = env.block_on(async { env.client().dev().mailbox().await.expect("mailbox") });
    assert_eq!(
        mails.iter().filter(|m| m.to == "inv@example.com").count(),
        2,
        "creation invite + re-invite"
    );

    // Admins: create, list (CSV), revoke, reinstate.
    let admin = env.json(&[
        "admins",
        "create",
        "--email",
        "second@example.com",
        "--name",
        "Second",
        "-o",
        "json",
    ]);
    let admin_id = admin["id"].as_str().expect("id").to_string();
    let text = env.ok(&["admins", "list", "-o", "csv"]);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("id,email,name,createdAt,activatedAt,revokedAt")
    );
    assert!(
        lines.any(|l| l.starts_with(&format!("{admin_id},second@example.com,Second,"))),
        "{text}"
    );
    env.cli()
        .args(["admins", "revoke", &admin_id])
        .assert()
        .success();
    env.cli()
        .args(["admins", "revoke", &admin_id])
        .assert()
        .code(6)
        .stderr(predicates::str::contains("already_revoked"));
    env.cli()
        .args(["admins", "reinstate", &admin_id])
        .assert()
        .success();
}
