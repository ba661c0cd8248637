//! End-to-end tests of the attribution-side CLI commands (programs, links, clicks,
//! identify, events, commissions, payouts, export, partner mode) with the real binary
//! against an in-process reference server.

use std::time::Duration;

use openpartner_e2e::{base_api_mode, report_groups, report_totals, simple_setup, Env};
use openpartner_mock::config::RateLimit;
use rust_decimal::Decimal;
use serde_json::Value;

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

fn track(env: &Env, user: &str, value: &str, cur: &str, ts: &str) -> Value {
    env.json(&[
        "events",
        "track",
        "--user-id",
        user,
        "--type",
        "sale",
        "--value",
        value,
        "--currency",
        cur,
        "--ts",
        ts,
        "-o",
        "json",
    ])
}

#[test]
fn programs_create_update_list() {
    let env = Env::start();
    let p = env.json(&[
        "programs",
        "create",
        "--name",
        "Percent",
        "--destination-url",
        "https://a.example.com/",
        "--percent",
        "12.5",
        "--model",
        "linear",
        "--window-days",
        "30",
        "--holdback-days",
        "7",
        "-o",
        "json",
    ]);
    assert_eq!(p["attributionModel"], "linear");
    assert_eq!(p["attributionWindowDays"], 30);
    assert_eq!(p["holdbackDays"], 7);
    assert_eq!(p["commissionRule"][0]["type"], "percent");
    assert_eq!(p["commissionRule"][0]["value"].to_string(), "12.5");
    let f = env.json(&[
        "programs",
        "create",
        "--name",
        "Fixed",
        "--destination-url",
        "https://a.example.com/",
        "--fixed",
        "5",
        "--currency",
        "eur",
        "-o",
        "json",
    ]);
    assert_eq!(f["commissionRule"][0]["type"], "fixed");
    assert_eq!(f["commissionRule"][0]["currency"], "EUR");
    let rules = env.write(
        "rules.json",
        r#"[{"trigger":"first","eventType":"signup","type":"fixed","value":10},
            {"trigger":"every","eventType":"sale","type":"percent","value":15}]"#,
    );
    let r = env.json(&[
        "programs",
        "create",
        "--name",
        "Rules",
        "--destination-url",
        "https://a.example.com/",
        "--rules-file",
        rules.to_str().expect("p"),
        "-o",
        "json",
    ]);
    assert_eq!(r["commissionRule"].as_array().expect("rules").len(), 2);
    assert_eq!(r["commissionRule"][0]["trigger"], "first");
    let id = r["id"].as_str().expect("id");
    let u = env.json(&[
        "programs",
        "update",
        id,
        "--name",
        "Renamed",
        "--percent",
        "30",
        "-o",
        "json",
    ]);
    assert_eq!(u["name"], "Renamed");
    assert_eq!(u["commissionRule"].as_array().expect("r").len(), 1);
    let list = env.json_rows(&["programs", "list", "-o", "json"]);
    assert_eq!(list.len(), 3);
    // A rule is required; flags conflict.
    let out = env.run(&[
        "programs",
        "create",
        "--name",
        "X",
        "--destination-url",
        "https://a.example.com/",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = env.run(&[
        "programs",
        "create",
        "--name",
        "X",
        "--destination-url",
        "https://a.example.com/",
        "--percent",
        "1",
        "--fixed",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn report_group_bys_exact_decimal_totals() {
    let env = Env::start();
    let (program, partner) = simple_setup(&env, &["--percent", "20"], 4);
    // 20 % of 10.01 = 2.002 → 2.00; of 0.29 = 0.058 → 0.06 (half-up); value 12.345 is
    // stored as 12.35 → 2.47; 20 % of 99.99 EUR = 19.998 → 20.00.
    track(&env, "u0", "10.01", "USD", "2026-10-02T10:00:00Z");
    track(&env, "u1", "0.29", "USD", "2026-10-03T10:00:00Z");
    track(&env, "u2", "12.345", "usd", "2026-10-03T11:00:00Z");
    let eur = track(&env, "u3", "99.99", "EUR", "2026-10-03T12:00:00Z");
    assert_eq!(eur["attribution"]["status"], "attributed");
    // A user without identity earns nothing.
    let none = track(&env, "nobody", "50", "USD", "2026-10-03T12:00:00Z");
    assert_eq!(none["attribution"]["status"], "no_identity");

    let csv = env.ok(&[
        "commissions",
        "report",
        "--group-by",
        "currency",
        "-o",
        "csv",
    ]);
    let totals = report_totals(&csv);
    assert_eq!(totals["USD"], (3, dec("4.53")));
    assert_eq!(totals["EUR"], (1, dec("20.00")));
    assert_eq!(
        report_groups(&csv),
        vec![
            ("EUR".into(), "EUR".into(), 1, "20.00".into()),
            ("USD".into(), "USD".into(), 3, "4.53".into())
        ]
    );
    let by_partner = report_groups(&env.ok(&[
        "commissions",
        "report",
        "--group-by",
        "partner",
        "-o",
        "csv",
    ]));
    assert_eq!(
        by_partner,
        vec![
            (partner.clone(), "EUR".into(), 1, "20.00".into()),
            (partner.clone(), "USD".into(), 3, "4.53".into())
        ]
    );
    let by_program = report_groups(&env.ok(&[
        "commissions",
        "report",
        "--group-by",
        "program",
        "-o",
        "csv",
    ]));
    assert_eq!(
        by_program[1],
        (program.clone(), "USD".into(), 3, "4.53".into())
    );

    // Approve the EUR one by id → group-by status splits it out.
    let id = eur["attribution"]["touches"][0]["commissionId"]
        .as_str()
        .expect("commission id");
    env.ok(&["commissions", "approve", id, "--yes"]);
    let by_status =
        report_groups(&env.ok(&["commissions", "report", "--group-by", "status", "-o", "csv"]));
    assert_eq!(
        by_status,
        vec![
            ("accrued".into(), "USD".into(), 3, "4.53".into()),
            ("approved".into(), "EUR".into(), 1, "20.00".into())
        ]
    );
    // Day groups (UTC day of accrual) add up to the totals.
    let days = report_groups(&env.ok(&["commissions", "report", "--group-by", "day", "-o", "csv"]));
    let usd: Decimal = days
        .iter()
        .filter(|d| d.1 == "USD")
        .map(|d| dec(&d.3))
        .sum();
    assert_eq!(usd, dec("4.53"));
    // JSON form and filters.
    let j = env.json(&[
        "commissions",
        "report",
        "--status",
        "accrued",
        "--group-by",
        "currency",
        "-o",
        "json",
    ]);
    assert_eq!(j["groupBy"], "currency");
    assert_eq!(j["totals"][0]["currency"], "USD");
    assert_eq!(j["totals"][0]["sum"], "4.53");
    assert_eq!(j["totals"][0]["count"], 3);
    let j = env.json(&["commissions", "report", "--program", "nope", "-o", "json"]);
    assert_eq!(j["totals"].as_array().expect("t").len(), 0);
    // Listing filters: --since in the future → nothing; --until in the future and the
    // partner/program filters → everything; --limit stops early.
    let list = |args: &[&str]| -> Vec<Value> {
        serde_json::from_str(&env.ok(&[&["commissions", "list", "-o", "json"][..], args].concat()))
            .expect("json")
    };
    assert_eq!(list(&["--since", "2099-01-01"]).len(), 0);
    assert_eq!(
        list(&[
            "--until",
            "2099-01-01",
            "--partner",
            &partner,
            "--program",
            &program
        ])
        .len(),
        4
    );
    assert_eq!(list(&["--status", "approved"]).len(), 1);
    assert_eq!(list(&["--limit", "2"]).len(), 2);
    assert_eq!(
        env.run(&["commissions", "list", "--since", "soon"])
            .status
            .code(),
        Some(2)
    );
    // Exactly the raw export.
    let raw = env.export_sums(None);
    assert_eq!(raw["USD"], dec("4.53"));
    assert_eq!(raw["EUR"], dec("20.00"));
    // Table output carries the totals too.
    let table = env.ok(&["commissions", "report", "-o", "table"]);
    assert!(
        table.contains("Totals per currency") && table.contains("4.53"),
        "{table}"
    );
}

#[test]
fn bulk_approve_dry_run_confirmation_and_holdback() {
    let env = Env::start();
    simple_setup(&env, &["--percent", "10"], 3);
    for u in ["u0", "u1", "u2"] {
        track(&env, u, "100.00", "USD", "2026-10-05T00:00:00Z");
    }
    // Dry run: lists the three, changes nothing.
    let listed = env.json_rows(&["commissions", "approve", "--dry-run", "-o", "json"]);
    assert_eq!(listed.len(), 3);
    let accrued =
        report_totals(&env.ok(&["commissions", "report", "--status", "accrued", "-o", "csv"]));
    assert_eq!(accrued["USD"], (3, dec("30.00")));
    // No terminal and no --yes: refused as a usage error, nothing changed.
    let out = env.run(&["commissions", "approve"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(
        report_totals(&env.ok(&["commissions", "report", "--status", "accrued", "-o", "csv"]))
            ["USD"]
            .0,
        3
    );
    // --yes approves all three.
    let s = env.json(&["commissions", "approve", "--yes", "-o", "json"]);
    assert_eq!(s["approved"], 3);
    assert_eq!(s["totals"][0]["amount"], "30.00");
    let approved =
        report_totals(&env.ok(&["commissions", "report", "--status", "approved", "-o", "csv"]));
    assert_eq!(approved["USD"], (3, dec("30.00")));
    // Reverse one by id; a second reverse is skipped (not reversible), not a failure.
    let rows = env.json_rows(&["commissions", "list", "-o", "json"]);
    let id = rows[0]["id"].as_str().expect("id");
    let s = env.json(&["commissions", "reverse", id, "--yes", "-o", "json"]);
    assert_eq!(s["reversed"], 1);
    env.ok(&["commissions", "reverse", "--status", "reversed", "--yes"]);
    let by_status =
        report_totals(&env.ok(&["commissions", "report", "--status", "reversed", "-o", "csv"]));
    assert_eq!(by_status["USD"], (1, dec("10.00")));
    // Ids and filters together are a usage error.
    assert_eq!(
        env.run(&["commissions", "approve", id, "--status", "accrued", "--yes"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn holdback_commissions_are_not_mature_until_the_clock_passes() {
    let env = Env::start();
    let (program, _) = simple_setup(&env, &["--percent", "10"], 1);
    env.ok(&["programs", "update", &program, "--holdback-days", "30"]);
    track(&env, "u0", "50.00", "USD", "2026-10-05T00:00:00Z");
    let s = env.json(&["commissions", "approve", "--yes", "-o", "json"]);
    assert_eq!(s["approved"], 0);
    assert_eq!(s["notMature"], 1);
    env.server()
        .clock()
        .advance(Duration::from_secs(31 * 86_400));
    let s = env.json(&["commissions", "approve", "--yes", "-o", "json"]);
    assert_eq!(s["approved"], 1);
    // Payouts: run, list, confirm.
    let run = env.json(&["payouts", "run", "-o", "json"]);
    assert_eq!(run["payouts"].as_array().expect("p").len(), 1);
    assert_eq!(run["payouts"][0]["amount"].to_string(), "5");
    let pid = run["payouts"][0]["payoutId"]
        .as_str()
        .expect("id")
        .to_string();
    let partner = run["payouts"][0]["partnerId"]
        .as_str()
        .expect("id")
        .to_string();
    let list = env.json_rows(&["payouts", "--partner", &partner, "-o", "json"]);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["amount"], "5.00");
    assert_eq!(list[0]["status"], "pending");
    let c = env.json(&["payouts", "confirm", &pid, "-o", "json"]);
    assert_eq!(c["status"], "paid");
    // A second run pays nothing.
    let run = env.json(&["payouts", "run", "-o", "json"]);
    assert_eq!(run["payouts"].as_array().expect("p").len(), 0);
    let paid = report_totals(&env.ok(&["commissions", "report", "--status", "paid", "-o", "csv"]));
    assert_eq!(paid["USD"], (1, dec("5.00")));
}

fn events_file(env: &Env, name: &str, n: usize, users: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "{{\"id\":\"ord-{i}\",\"userId\":\"u{}\",\"type\":\"sale\",\"value\":{}.{:02},\"currency\":\"{}\",\"ts\":\"2026-10-10T00:00:00.000Z\"}}\n",
            i % users,
            10 + i,
            i % 100,
            if i % 3 == 0 { "EUR" } else { "USD" }
        ));
    }
    env.write(name, &text).to_str().expect("p").to_string()
}

#[test]
fn events_import_rerun_is_replayed_not_doubled_and_waits_on_429() {
    // A tight rate limit: the import must wait on 429 instead of failing rows.
    let env = Env::start_with(|c| {
        c.rate_limit = Some(RateLimit {
            requests: 25,
            window: Duration::from_secs(1),
        });
    });
    simple_setup(&env, &["--percent", "20"], 5);
    let file = events_file(&env, "events.ndjson", 60, 5);
    let first: Value = serde_json::from_str(
        env.ok(&["events", "import", &file, "--concurrency", "8"])
            .trim(),
    )
    .expect("json");
    assert_eq!(first["created"], 60);
    assert_eq!(first["failed"], 0);
    let before = env.export_sums(None);
    let second: Value = serde_json::from_str(
        env.ok(&["events", "import", &file, "--concurrency", "8"])
            .trim(),
    )
    .expect("json");
    assert_eq!(second["created"], 0);
    assert_eq!(second["replayed"], 60);
    assert_eq!(
        env.export_sums(None),
        before,
        "re-run must not change commission totals"
    );
    let events = env
        .block_on(env.client().export_json(openpartner::ExportTable::Event))
        .expect("export");
    assert_eq!(events.len(), 60);
    // An id reused with a different body is refused by the server, not doubled.
    let reused = env.write(
        "reused.ndjson",
        "{\"id\":\"ord-0\",\"userId\":\"u0\",\"type\":\"sale\",\"value\":999}\n",
    );
    let out = env.run(&["events", "import", reused.to_str().expect("p")]);
    if base_api_mode() {
        // API.md §3.4/§6: the base API does not deduplicate events and the checkpoint
        // knows its own file only, so an `id` from another file is a new event (the limit
        // the events-import docs state); a re-run of this file is still replayed.
        let s: Value = serde_json::from_slice(&out.stdout).expect("summary");
        assert_eq!(
            (out.status.code(), s["created"].as_u64()),
            (Some(0), Some(1)),
            "{s}"
        );
        let out = env.run(&["events", "import", reused.to_str().expect("p")]);
        let s: Value = serde_json::from_slice(&out.stdout).expect("summary");
        assert_eq!(
            (s["created"].as_u64(), s["replayed"].as_u64()),
            (Some(0), Some(1)),
            "{s}"
        );
    } else {
        assert_eq!(out.status.code(), Some(5));
        assert!(String::from_utf8_lossy(&out.stderr).contains("idempotency_key_reused"));
        let s: Value = serde_json::from_slice(&out.stdout).expect("summary");
        assert_eq!(
            (s["invalid"].as_u64(), s["failed"].as_u64()),
            (Some(1), Some(0)),
            "{s}"
        );
        assert_eq!(env.export_sums(None), before);
    }
    // Bad lines are invalid (exit 5, "fix them") without stopping the others; a re-run
    // replays the good line and reports the same invalid ones.
    let bad = env.write("bad.ndjson", "{\"userId\":\"u1\",\"type\":\"sale\",\"value\":1,\"id\":\"x1\"}\nnot json\n{\"type\":\"sale\"}\n");
    for (created, replayed) in [(1, 0), (0, 1)] {
        let out = env.run(&["events", "import", bad.to_str().expect("p")]);
        assert_eq!(out.status.code(), Some(5));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("line 2") && err.contains("line 3"), "{err}");
        assert!(
            err.contains("2 line(s) invalid") && err.contains("fix them"),
            "{err}"
        );
        assert!(!err.contains("retry them"), "{err}");
        let s: Value = serde_json::from_slice(&out.stdout).expect("summary");
        assert_eq!(s["created"], created, "{s}");
        assert_eq!(s["replayed"], replayed, "{s}");
        assert_eq!(s["invalid"], 2, "{s}");
        assert_eq!(s["failed"], 0, "{s}");
    }
}

#[test]
fn events_import_without_idempotency_uses_a_checkpoint() {
    let env = Env::start_with(|c| {
        c.extensions = false;
    });
    simple_setup(&env, &["--percent", "20"], 3);
    let file = events_file(&env, "plain.ndjson", 30, 3);
    let first: Value =
        serde_json::from_str(env.ok(&["events", "import", &file]).trim()).expect("json");
    assert_eq!(first["created"], 30);
    assert!(std::path::Path::new(&format!("{file}.checkpoint")).exists());
    let before = env.export_sums(None);
    let second: Value =
        serde_json::from_str(env.ok(&["events", "import", &file]).trim()).expect("json");
    assert_eq!(second["created"], 0);
    assert_eq!(
        second["replayed"], 30,
        "done per the checkpoint, not sent again"
    );
    assert_eq!(env.export_sums(None), before);
    // A changed file is refused rather than half-skipped.
    std::fs::write(&file, "{\"userId\":\"u0\",\"type\":\"sale\"}\n").expect("write");
    assert_eq!(env.run(&["events", "import", &file]).status.code(), Some(2));
}

#[test]
fn report_without_commission_filters_warns_and_exits_partial_when_full() {
    let env = Env::start_with(|c| {
        c.extensions = false;
    });
    simple_setup(&env, &["--fixed", "1"], 1);
    let mut text = String::new();
    for i in 0..510 {
        text.push_str(&format!("{{\"userId\":\"u0\",\"type\":\"sale\",\"value\":1,\"ts\":\"2026-10-10T00:00:{:02}.{:03}Z\"}}\n", i % 60, i));
    }
    let f = env.write("many.ndjson", &text);
    env.ok(&[
        "events",
        "import",
        f.to_str().expect("p"),
        "--concurrency",
        "8",
    ]);
    let out = env.run(&[
        "commissions",
        "report",
        "--group-by",
        "currency",
        "-o",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("commission-filters"), "{err}");
    let totals = report_totals(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        totals["USD"],
        (500, dec("500.00")),
        "the single page is reported"
    );
    // A filter that fits in one page is complete: exit 0.
    let out = env.run(&["commissions", "report", "--status", "paid", "-o", "csv"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn partner_mode_uses_only_the_partners_own_routes() {
    let env = Env::start();
    let (_, partner) = simple_setup(&env, &["--percent", "20"], 2);
    track(&env, "u0", "10.00", "USD", "2026-10-02T10:00:00Z");
    track(&env, "u1", "20.00", "EUR", "2026-10-02T10:00:00Z");
    // Another partner with its own commission, invisible to the first.
    let other = env.json(&[
        "partners",
        "create",
        "--email",
        "o@example.com",
        "--name",
        "O",
        "--no-invite",
        "-o",
        "json",
    ]);
    let other_id = other["id"].as_str().expect("id").to_string();
    let programs = env.json_rows(&["programs", "list", "-o", "json"]);
    let program = programs[0]["id"].as_str().expect("id");
    env.ok(&[
        "links",
        "create",
        "--partner",
        &other_id,
        "--key",
        "other-link",
        "--program",
        program,
    ]);
    let key = env
        .block_on(env.client().api_keys().create_for_partner(&partner).send())
        .expect("partner key");
    let key = key.plaintext.expose().to_string();
    let p = |args: &[&str]| {
        let out = env
            .cli_with_key(&key)
            .arg("-v")
            .args(args)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{args:?}: {err}");
        // `status=403` exactly: request ids are ULIDs and may contain the digits "403".
        assert!(
            !err.contains("status=403"),
            "{args:?} hit a forbidden route: {err}"
        );
        String::from_utf8(out.stdout).expect("utf8")
    };
    let me: Value = serde_json::from_str(&p(&["me", "-o", "json"])).expect("json");
    assert_eq!(me["role"], "partner");
    assert_eq!(me["id"], partner.as_str());
    let links: Vec<Value> = serde_json::from_str(&p(&["links", "-o", "json"])).expect("json");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["linkKey"], "link-one");
    let rows: Vec<Value> = serde_json::from_str(&p(&["commissions", "-o", "json"])).expect("json");
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["partnerId"] == partner.as_str()));
    let totals = report_totals(&p(&[
        "commissions",
        "report",
        "--group-by",
        "currency",
        "-o",
        "csv",
    ]));
    assert_eq!(totals["USD"], (1, dec("2.00")));
    assert_eq!(totals["EUR"], (1, dec("4.00")));
    let payouts: Vec<Value> = serde_json::from_str(&p(&["payouts", "-o", "json"])).expect("json");
    assert!(payouts.is_empty());
    let stats: Value =
        serde_json::from_str(&p(&["stats", "--since", "2026-01-01", "-o", "json"])).expect("json");
    assert_eq!(stats["partnerId"], partner.as_str());
    let progs: Vec<Value> =
        serde_json::from_str(&p(&["programs", "list", "-o", "json"])).expect("json");
    assert_eq!(progs.len(), 1);
    // Admin-only verbs and other partners are refused locally (exit 4), before any request.
    for args in [
        vec!["commissions", "approve", "--yes"],
        vec!["payouts", "run"],
        vec!["links", "--partner", other_id.as_str()],
        vec!["commissions", "--partner", other_id.as_str()],
    ] {
        let out = env
            .cli_with_key(&key)
            .arg("-v")
            .args(&args)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(4), "{args:?}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("status=403"),
            "{args:?}"
        );
    }
}

/// Partner mode goes through the SDK's `list_for_partner`: `--since` inclusive, `--until`
/// exclusive and `--program` give the same rows whether the server filters
/// (`commission-filters`) or the CLI does (base API, one page), and only the partner's own
/// `/partners/:id/commissions` is called.
#[test]
fn partner_mode_filters_agree_with_and_without_commission_filters() {
    for extensions in [true, false] {
        let env = Env::start_with(|c| {
            c.extensions = extensions;
        });
        let (program, partner) = simple_setup(&env, &["--percent", "20"], 2);
        // accruedAt is the server's clock: the second commission accrues two days later.
        let accrued = || -> Vec<String> {
            let all = env.json_rows(&["commissions", "list", "-o", "json"]);
            all.iter()
                .map(|c| c["accruedAt"].as_str().expect("accruedAt").to_string())
                .collect()
        };
        track(&env, "u0", "10.00", "USD", "2026-10-02T10:00:00Z");
        let t1 = accrued().pop().expect("first commission");
        env.server()
            .clock()
            .advance(Duration::from_secs(2 * 86_400));
        track(&env, "u1", "20.00", "USD", "2026-10-02T10:00:00Z");
        let both = accrued();
        assert_eq!(both.len(), 2);
        let t2 = both[0].clone();
        assert_eq!(both[1], t1, "newest first");
        let key = env
            .block_on(env.client().api_keys().create_for_partner(&partner).send())
            .expect("partner key");
        let key = key.plaintext.expose().to_string();
        let rows = |args: &[&str]| -> Vec<String> {
            let out = env
                .cli_with_key(&key)
                .arg("-v")
                .args(["commissions", "list", "-o", "json"])
                .args(args)
                .output()
                .expect("runs");
            let err = String::from_utf8_lossy(&out.stderr).to_string();
            assert!(out.status.success(), "{args:?} (ext {extensions}): {err}");
            assert!(
                err.contains(&format!("/partners/{partner}/commissions")),
                "{args:?}: the partner route is called: {err}"
            );
            assert!(
                !err.contains(&format!("{}/commissions", env.base_url)),
                "{args:?}: never the admin listing: {err}"
            );
            let v: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
            v.iter()
                .map(|r| r["amount"].as_str().expect("amount").to_string())
                .collect()
        };
        assert!(t1 < t2, "{t1} < {t2}");
        assert_eq!(rows(&[]), ["4.00", "2.00"], "ext {extensions}");
        assert_eq!(rows(&["--since", &t2]), ["4.00"], "since is inclusive");
        assert_eq!(rows(&["--until", &t2]), ["2.00"], "until is exclusive");
        assert_eq!(rows(&["--since", &t1, "--until", &t2]), ["2.00"]);
        assert_eq!(rows(&["--until", &t1]), Vec::<String>::new());
        assert_eq!(rows(&["--program", &program]).len(), 2);
        assert_eq!(rows(&["--program", "nope"]), Vec::<String>::new());
        assert_eq!(rows(&["--status", "approved"]), Vec::<String>::new());
    }
}

#[test]
fn export_streams_csv_and_json_and_clicks_flagging() {
    let env = Env::start();
    simple_setup(&env, &["--percent", "20"], 2);
    track(&env, "u0", "10.00", "USD", "2026-10-02T10:00:00Z");
    let out = env.path("c.csv");
    env.ok(&[
        "export",
        "commission",
        "--format",
        "csv",
        "--out",
        out.to_str().expect("p"),
    ]);
    let text = std::fs::read_to_string(&out).expect("read");
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let amount_col = r
        .headers()
        .expect("h")
        .iter()
        .position(|h| h == "amount")
        .expect("amount column");
    let rows: Vec<_> = r.records().map(|x| x.expect("rec")).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][amount_col], "2.00");
    let clicks = env.json_rows(&["export", "Click", "--format", "json"]);
    assert_eq!(clicks.len(), 2);
    assert_eq!(env.run(&["export", "Secrets"]).status.code(), Some(2));
    // Flag / flagged / unflag.
    let id = "clk_simple_setup_00000001";
    env.ok(&["clicks", "flag", id]);
    assert_eq!(env.run(&["clicks", "flag", id]).status.code(), Some(6));
    let flagged = env.json_rows(&["clicks", "flagged", "-o", "json"]);
    assert_eq!(flagged.len(), 1);
    assert_eq!(flagged[0]["id"], id);
    let none = track(&env, "u1", "10.00", "USD", "2026-10-02T10:00:00Z");
    assert_eq!(none["attribution"]["status"], "no_click");
    let un = env.json(&["clicks", "unflag", id, "-o", "json"]);
    assert_eq!(un["clickId"], id);
    // The unflag re-attributed u1's event: two commissions of 2.00 now.
    let totals = report_totals(&env.ok(&["commissions", "report", "-o", "csv"]));
    assert_eq!(totals["USD"], (2, dec("4.00")));
    // clicks record: the same id again is a replay.
    let args = [
        "clicks",
        "record",
        "--id",
        "clk_manual_record_000001",
        "--link-key",
        "link-one",
        "--landing-url",
        "https://shop.example.com/",
        "--ts",
        "2026-10-01T00:00:00Z",
        "-o",
        "json",
    ];
    assert_eq!(env.json(&args)["replayed"], false);
    assert_eq!(env.json(&args)["replayed"], true);
}
