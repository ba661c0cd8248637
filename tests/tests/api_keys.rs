//! `api-keys create-scoped | list | rotate | revoke` against the reference server.

use openpartner::Credentials;
use openpartner_e2e::{assert_ok, Env};
use serde_json::Value;

#[test]
fn rotate_scoped_key_replaces_it() {
    let env = Env::start();
    let old = env.json(&[
        "api-keys",
        "create-scoped",
        "--scope",
        "partners:read,partners:write",
        "--label",
        "crm",
        "-o",
        "json",
    ]);
    let old_id = old["id"].as_str().expect("id").to_string();
    let old_plain = old["plaintext"].as_str().expect("plaintext").to_string();
    assert_eq!(
        old["scopes"],
        serde_json::json!(["partners:read", "partners:write"])
    );

    let intro = |key: &str| {
        let client = env.client_with(Credentials::api_key(key));
        // Scopes on success, the HTTP status on failure.
        env.block_on(async move { client.auth().introspect().await })
            .map(|i| i.scopes)
            .map_err(|e| e.status())
    };
    assert_eq!(intro(&old_plain).expect("old key works").len(), 2);

    let args = ["api-keys", "rotate", &old_id, "-o", "json"];
    let out = env.run(&args);
    assert_ok(&out, &args);
    let new: Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    let new_plain = new["plaintext"].as_str().expect("plaintext").to_string();
    assert_ne!(new_plain, old_plain);
    assert_ne!(new["id"], old["id"]);
    let stderr = String::from_utf8(out.stderr).expect("utf8");
    assert!(stderr.contains("will not be shown again"), "{stderr}");

    // The old key is dead, the new one has the same scopes.
    let err = intro(&old_plain).expect_err("old key revoked");
    assert_eq!(err, Some(401));
    assert_eq!(
        intro(&new_plain).expect("new key works"),
        ["partners:read", "partners:write"]
    );

    // Listing shows the new key (label copied) and the old one revoked.
    let keys = env.json(&["api-keys", "list", "-o", "json"]);
    let keys = keys.as_array().expect("array");
    let new_row = keys
        .iter()
        .find(|k| k["id"] == new["id"])
        .expect("new key listed");
    assert_eq!(new_row["label"], "crm");
    assert!(new_row.get("plaintext").is_none());
    if let Some(old_row) = keys.iter().find(|k| k["id"] == old["id"]) {
        assert!(old_row["revokedAt"].is_string(), "{old_row}");
    }

    // Rotating an unknown key without --admin/--partner creates nothing: exit 3.
    env.cli()
        .args(["api-keys", "rotate", "01JNOPE0000000000000000000"])
        .assert()
        .code(3);
}

#[test]
fn partner_key_create_rotate_revoke() {
    let env = Env::start();
    let pid = env.create_partners(1, 1).remove(0);
    let key = env.json(&["api-keys", "create-partner", &pid, "-o", "json"]);
    let key_id = key["id"].as_str().expect("id").to_string();

    let new = env.json(&[
        "api-keys",
        "rotate",
        &key_id,
        "--partner",
        &pid,
        "-o",
        "json",
    ]);
    let new_plain = new["plaintext"].as_str().expect("plaintext").to_string();
    let client = env.client_with(Credentials::api_key(new_plain));
    let me = env
        .block_on(async move { client.partners().get(&pid).await })
        .expect("new partner key reads its own partner");
    assert_eq!(me.email, "p00000@bulk.example.com");

    let keys = env.json(&["api-keys", "list", "--partner", &me.id, "-o", "json"]);
    let old_row = keys
        .as_array()
        .expect("array")
        .iter()
        .find(|k| k["id"] == key["id"])
        .cloned();
    if let Some(old_row) = old_row {
        assert!(old_row["revokedAt"].is_string(), "{old_row}");
    }
    let new_id = new["id"].as_str().expect("id");
    env.cli()
        .args(["api-keys", "revoke", new_id])
        .assert()
        .success();
    env.cli()
        .args(["api-keys", "revoke", "01JNOPE0000000000000000000"])
        .assert()
        .code(3);
}
