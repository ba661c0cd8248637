//! Partner postbacks end to end: the SDK's postback handlers and `openpartner partners
//! postbacks list | create | update | delete | attempts` against the in-process reference
//! server, as the admin (`--partner`) and as the partner with its own key.

use std::time::{Duration, Instant};

use openpartner::types::PostbackAttemptStatus;
use openpartner::Credentials;
use openpartner_e2e::{assert_ok, requires_extensions, simple_setup, Env};
use serde_json::{json, Value};

const EVENTS: [&str; 4] = [
    "commission.accrued",
    "commission.approved",
    "commission.reversed",
    "commission.paid",
];

/// A partner key of `partner` (plaintext).
fn partner_key(env: &Env, partner: &str) -> String {
    let key = env
        .block_on(env.client().api_keys().create_for_partner(partner).send())
        .expect("partner key");
    key.plaintext.expose().to_string()
}

#[test]
fn sdk_postback_handlers_as_admin_and_as_the_partner() {
    if requires_extensions(
        "postback attempt log",
        "the test walks the [EXT] attempt log route, which the base API does not have",
    ) {
        return;
    }
    let env = Env::start();
    let ids = env.create_partners(2, 1);
    let (pid, other) = (ids[0].clone(), ids[1].clone());
    let admin = env.client().partners();

    let created = env
        .block_on(admin.create_postback(
            &pid,
            "https://cb.example.com/pb?c={click_id}&a={commission_amount}",
            vec!["commission.approved".into(), "commission.paid".into()],
            None,
        ))
        .expect("create");
    assert_eq!(created.partner_id.as_deref(), Some(pid.as_str()));
    assert!(created.enabled);
    assert_eq!(created.events, ["commission.approved", "commission.paid"]);
    assert!(created.created_at.is_some());

    let list = env.block_on(admin.postbacks(&pid)).expect("list");
    assert_eq!(list.postbacks, vec![created.clone()]);
    assert_eq!(list.supported_events, EVENTS);

    let updated = env
        .block_on(admin.update_postback(
            &pid,
            &created.id,
            None,
            Some(vec!["commission.reversed".into()]),
            Some(false),
        ))
        .expect("update");
    assert_eq!(updated.url, created.url);
    assert_eq!(updated.events, ["commission.reversed"]);
    assert!(!updated.enabled);

    // the server's validation reaches the SDK as a 400
    let err = env
        .block_on(admin.create_postback(&pid, "ftp://x.example/", vec![], None))
        .expect_err("invalid");
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.code(), Some("invalid_body"));

    // the partner itself, with its own key: every handler on its own postbacks
    let key = partner_key(&env, &pid);
    let me = env.client_with(Credentials::api_key(&key)).partners();
    let mine = env
        .block_on(me.create_postback(
            &pid,
            "https://cb.example.com/mine?e={event_type}",
            vec!["commission.accrued".into()],
            Some(false),
        ))
        .expect("partner creates");
    assert!(!mine.enabled);
    let list = env.block_on(me.postbacks(&pid)).expect("partner lists");
    assert_eq!(list.postbacks.len(), 2);
    let attempts = env
        .block_on(me.postback_attempts(&pid, &mine.id))
        .expect("attempt log");
    assert!(attempts.is_empty());
    env.block_on(me.delete_postback(&pid, &mine.id))
        .expect("partner deletes (204)");
    let err = env
        .block_on(me.delete_postback(&pid, &mine.id))
        .expect_err("gone");
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), Some("postback_not_found"));

    // ... and nobody else's
    let err = env.block_on(me.postbacks(&other)).expect_err("forbidden");
    assert_eq!(err.status(), Some(403));
    let err = env
        .block_on(me.update_postback(&other, &created.id, None, None, Some(true)))
        .expect_err("forbidden");
    assert_eq!(err.status(), Some(403));

    env.block_on(admin.delete_postback(&pid, &created.id))
        .expect("admin deletes");
    assert!(env
        .block_on(admin.postbacks(&pid))
        .expect("list")
        .postbacks
        .is_empty());
}

#[test]
fn cli_postbacks_as_admin_and_as_the_partner() {
    let env = Env::start();
    let pid = env.create_partners(1, 1).remove(0);

    let row = env.json(&[
        "partners",
        "postbacks",
        "create",
        "--partner",
        &pid,
        "--url",
        "https://cb.example.com/pb?c={commission_id}",
        "--event",
        "commission.approved,commission.paid",
        "-o",
        "json",
    ]);
    let id = row["id"].as_str().expect("id").to_string();
    assert_eq!(row["partnerId"], pid.as_str());
    assert_eq!(row["enabled"], true);
    assert_eq!(
        row["events"],
        json!(["commission.approved", "commission.paid"])
    );

    let rows = env.json_rows(&[
        "partners",
        "postbacks",
        "list",
        "--partner",
        &pid,
        "-o",
        "json",
    ]);
    assert_eq!(rows, vec![row.clone()]);

    let upd = env.json(&[
        "partners",
        "postbacks",
        "update",
        &id,
        "--partner",
        &pid,
        "--enabled",
        "false",
        "--event",
        "commission.reversed",
        "-o",
        "json",
    ]);
    assert_eq!(upd["enabled"], false);
    assert_eq!(upd["events"], json!(["commission.reversed"]));
    assert_eq!(upd["url"], row["url"]);

    // the server's 400 surfaces as a failed command naming the field
    let out = env.run(&[
        "partners",
        "postbacks",
        "create",
        "--partner",
        &pid,
        "--url",
        "https://cb.example.com/",
        "--event",
        "partner.created",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("events"), "{stderr}");

    // the partner, with its own key: --partner defaults to itself
    let key = partner_key(&env, &pid);
    let as_partner = |args: &[&str]| {
        let out = env.cli_with_key(&key).args(args).output().expect("runs");
        assert_ok(&out, args);
        String::from_utf8(out.stdout).expect("utf8")
    };
    let mine: Value = serde_json::from_str(&as_partner(&[
        "partners",
        "postbacks",
        "create",
        "--url",
        "https://cb.example.com/mine?t={event_type}",
        "--event",
        "commission.accrued",
        "--disabled",
        "-o",
        "json",
    ]))
    .expect("json");
    assert_eq!(mine["partnerId"], pid.as_str());
    assert_eq!(mine["enabled"], false);
    let listed: Vec<Value> = serde_json::from_str(&as_partner(&[
        "partners",
        "postbacks",
        "list",
        "-o",
        "json",
    ]))
    .expect("json");
    assert_eq!(listed.len(), 2);
    let mine_id = mine["id"].as_str().expect("id");
    as_partner(&["partners", "postbacks", "delete", mine_id]);
    // another partner's id is refused (locally or by the server), nothing is changed
    let out = env
        .cli_with_key(&key)
        .args([
            "partners",
            "postbacks",
            "list",
            "--partner",
            "01JOTHERPARTNER00000000000",
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());

    let out = env.run(&["partners", "postbacks", "delete", &id, "--partner", &pid]);
    assert_ok(&out, &["partners", "postbacks", "delete"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("deleted"));
    let rows = env.json_rows(&[
        "partners",
        "postbacks",
        "list",
        "--partner",
        &pid,
        "-o",
        "json",
    ]);
    assert!(rows.is_empty(), "{rows:?}");
}

#[test]
fn a_fired_postback_shows_in_the_attempt_log() {
    if requires_extensions(
        "postback attempt log",
        "its subject is the [EXT] attempt log route",
    ) {
        return;
    }
    let env = Env::start();
    let (_program, partner) = simple_setup(&env, &["--percent", "20"], 1);
    // nothing listens on port 9 of the loopback (allowed in tests): the one try fails
    let row = env.json(&[
        "partners",
        "postbacks",
        "create",
        "--partner",
        &partner,
        "--url",
        "http://127.0.0.1:9/pb?c={commission_id}&a={commission_amount}",
        "--event",
        "commission.accrued",
        "-o",
        "json",
    ]);
    let id = row["id"].as_str().expect("id").to_string();
    env.json(&[
        "events",
        "track",
        "--user-id",
        "u0",
        "--type",
        "sale",
        "--value",
        "50",
        "--currency",
        "USD",
        "--ts",
        "2026-10-02T00:00:00.000Z",
        "-o",
        "json",
    ]);
    let client = env.client().partners();
    let deadline = Instant::now() + Duration::from_secs(20);
    let attempts = loop {
        let a = env
            .block_on(client.postback_attempts(&partner, &id))
            .expect("attempts");
        if a.iter().all(|x| x.status == PostbackAttemptStatus::Failed) && !a.is_empty() {
            break a;
        }
        assert!(Instant::now() < deadline, "not settled: {a:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(attempts.len(), 1);
    let a = &attempts[0];
    assert_eq!(a.event_type, "commission.accrued");
    assert_eq!(a.http_status, None);
    assert!(a.error.is_some());
    assert!(a.url.starts_with("http://127.0.0.1:9/pb?c="), "{}", a.url);
    assert!(a.url.ends_with("&a=10.00"), "{}", a.url);
    assert!(a.at.is_some() && a.duration_ms.is_some());

    let rows = env.json_rows(&[
        "partners",
        "postbacks",
        "attempts",
        &id,
        "--partner",
        &partner,
        "-o",
        "json",
    ]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "failed");
    assert_eq!(rows[0]["url"], a.url.as_str());
    assert_eq!(rows[0]["httpStatus"], Value::Null);
}
