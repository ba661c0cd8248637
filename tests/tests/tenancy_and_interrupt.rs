//! Multi-tenant servers (`--tenant`), and Ctrl-C during an import (exit 130, nothing lost,
//! a re-run completes the rest).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use openpartner_e2e::{cli_path, Env, ADMIN_KEY};
use serde_json::Value;

#[test]
fn tenant_flag_and_profile_route_to_the_tenant() {
    let env = Env::start_with(|c| {
        c.tenancy = openpartner_mock::Tenancy::Multi;
        c.tenants = vec!["acme".into(), "globex".into()];
    });
    env.cli()
        .args([
            "--tenant",
            "acme",
            "partners",
            "create",
            "--email",
            "a@acme.example",
            "--name",
            "A",
        ])
        .assert()
        .success();
    let list = |tenant: &str| -> Vec<Value> {
        let out = env
            .cli()
            .env("OPENPARTNER_TENANT", tenant)
            .args(["partners", "list", "-o", "json"])
            .assert()
            .success()
            .get_output()
            .clone();
        serde_json::from_slice(&out.stdout).expect("json")
    };
    assert_eq!(list("acme").len(), 1);
    assert_eq!(list("globex").len(), 0);
    // No tenant on a multi-tenant server: 400 tenant_slug_missing → exit 1.
    env.cli()
        .args(["partners", "list"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("tenant_slug_missing"));
    // An invalid slug is a configuration error (exit 2) before any request.
    env.cli()
        .args(["--tenant", "Not Valid", "partners", "list"])
        .assert()
        .code(2);

    // A profile remembers the tenant.
    env.cli_bare()
        .args([
            "auth",
            "login",
            "--with-token",
            "--base-url",
            &env.base_url,
            "--tenant",
            "acme",
        ])
        .write_stdin(format!("{ADMIN_KEY}\n"))
        .assert()
        .success();
    let out = env
        .cli_bare()
        .args(["partners", "list", "-o", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let items: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["email"], "a@acme.example");
}

#[cfg(unix)]
/// Ctrl-C during a slow import: sending stops, the in-flight rows finish, the run exits 130
/// and reports exactly what was done and what was not sent; a re-run completes the rest
/// exactly. The server answers every request after 100 ms, so the import of 400 rows at
/// concurrency 2 needs ~20 s: the signal, sent once 20 partners exist, must cut it short —
/// an import that finishes first fails this test.
#[test]
fn ctrl_c_during_import_stops_sending_and_a_rerun_completes_the_rest() {
    const ROWS: u64 = 400;
    let env = Env::start_with(|c| c.latency = Some(Duration::from_millis(100)));
    let file = env.config_dir.path().join("big.csv");
    let mut text = String::from("email,name,external_id\n");
    for i in 0..ROWS {
        text.push_str(&format!("u{i}@int.example.com,User {i},int-{i}\n"));
    }
    std::fs::write(&file, text).expect("write");
    let report = env.config_dir.path().join("report.csv");
    let child = Command::new(cli_path())
        .env("OPENPARTNER_CONFIG_DIR", env.config_dir.path())
        .env("CI", "1")
        .env("OPENPARTNER_API_KEY", ADMIN_KEY)
        .env("OPENPARTNER_BASE_URL", &env.base_url)
        .args([
            "partners",
            "import",
            "--no-invite",
            "--concurrency",
            "2",
            "-o",
            "json",
            "--report",
        ])
        .arg(&report)
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Interrupt once some rows are in.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = env.block_on(async {
            env.client()
                .partners()
                .list()
                .page_size(200)
                .limit(200)
                .send()
                .await
                .map(|p| p.items.len())
                .unwrap_or(0)
        });
        if n >= 20 {
            break;
        }
        assert!(Instant::now() < deadline, "import made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(130),
        "the import must have been interrupted, not finished: {stderr}"
    );
    assert!(stderr.contains("not sent"), "{stderr}");
    let s: Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    let created = s["created"].as_u64().expect("created");
    let not_sent = s["notSent"].as_u64().expect("notSent");
    assert_eq!(s["total"], ROWS);
    assert!(created >= 20, "{s}");
    assert!(not_sent > 0, "some rows were not sent: {s}");
    assert_eq!(created + not_sent, ROWS, "no row failed or vanished: {s}");

    // The report has one row per processed line, and what it says was created is exactly
    // what the server has.
    let mut rdr = csv::Reader::from_path(&report).expect("report");
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len() as u64, created);
    assert!(rows.iter().all(|r| &r[1] == "created"));
    assert_eq!(env.all_partners().len() as u64, created);
    eprintln!("interrupted after {created} created, {not_sent} not sent");

    // A re-run sends the rest: exactly the rows not sent are created, the others existed.
    let out = env
        .cli()
        .args([
            "partners",
            "import",
            "--no-invite",
            "--concurrency",
            "8",
            "-o",
            "json",
        ])
        .arg(&file)
        .timeout(Duration::from_secs(120))
        .assert()
        .success()
        .get_output()
        .clone();
    let again: Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(again["created"], not_sent, "{again}");
    assert_eq!(again["existed"], created, "{again}");
    assert_eq!(again["notSent"], 0, "{again}");
    assert_eq!(env.all_partners().len() as u64, ROWS);
}
