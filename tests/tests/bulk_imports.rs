//! The bulk commands through the one runner: identical event lines are separate events, a
//! CRM export with unknown columns imports, throttling is waited out exactly, and every bulk
//! command prints the same summary shape and report columns.

use std::collections::BTreeSet;
use std::time::Duration;

use openpartner::ExportTable;
use openpartner_e2e::{base_api_mode, simple_setup, Env};
use openpartner_mock::RateLimit;
use serde_json::Value;

fn summary(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON summary on stdout: {e}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .expect("summary object")
        .keys()
        .cloned()
        .collect()
}

fn report_header(path: &std::path::Path) -> Vec<String> {
    let mut rdr = csv::Reader::from_path(path).expect("report");
    rdr.headers()
        .expect("headers")
        .iter()
        .map(str::to_string)
        .collect()
}

/// The done-when figure of issue 8: 20,000 NDJSON lines without `id`, only 9,000 distinct
/// contents (the same purchase again is ordinary) → 20,000 events; the same file again → 0
/// created, 20,000 replayed, still 20,000 events.
#[test]
fn repeated_identical_event_lines_are_each_imported_and_a_rerun_replays_all() {
    const LINES: usize = 20_000;
    const DISTINCT: usize = 9_000;
    let env = Env::start();
    let mut text = String::with_capacity(LINES * 80);
    for i in 0..LINES {
        // Lines 0..9000 are distinct; every later line repeats one of them (some 2×, some
        // 3× in all), scattered through the file.
        let d = if i < DISTINCT {
            i
        } else {
            (i * 7919) % DISTINCT
        };
        text.push_str(&format!(
            "{{\"userId\":\"u{}\",\"type\":\"sale\",\"value\":{}.50,\"currency\":\"EUR\"}}\n",
            d % 500,
            d
        ));
    }
    let distinct: BTreeSet<&str> = text.lines().collect();
    assert_eq!(distinct.len(), DISTINCT);
    let file = env.write("repeats.ndjson", &text);
    let file = file.to_str().expect("path");

    let out = env.run(&["events", "import", file, "--concurrency", "16"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = summary(&out);
    assert_eq!(first["created"], LINES as u64, "{first}");
    assert_eq!(first["replayed"], 0, "{first}");
    assert_eq!(first["failed"], 0, "{first}");
    let events = env
        .block_on(env.client().export_json(ExportTable::Event))
        .expect("export");
    assert_eq!(events.len(), LINES, "every identical line is its own event");

    let out = env.run(&["events", "import", file, "--concurrency", "16"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = summary(&out);
    assert_eq!(second["created"], 0, "{second}");
    assert_eq!(second["replayed"], LINES as u64, "{second}");
    let events = env
        .block_on(env.client().export_json(ExportTable::Event))
        .expect("export");
    assert_eq!(events.len(), LINES, "the re-run doubled nothing");
    eprintln!(
        "20,000 lines: first run {} ms, re-run {} ms",
        first["elapsedMs"], second["elapsedMs"]
    );
}

/// A CRM export carries columns we do not know: they are ignored with one warning naming
/// them, every valid row is imported; `--metadata-column tier` keeps the tier; `--strict`
/// refuses the file; header matching ignores case and surrounding spaces.
#[test]
fn a_crm_export_with_an_extra_column_imports_every_valid_row() {
    let csv = " Email , Name ,External_ID,tier,Owner\n\
               ann@crm.example.com,Ann,crm-1,gold,jo\n\
               bob@crm.example.com,Bob,crm-2,silver,jo\n\
               not-an-email,Bad,crm-3,gold,jo\n\
               cy@crm.example.com,Cy,crm-4,,al\n";
    let env = Env::start();
    let file = env.write("crm.csv", csv);

    let strict = env.run(&[
        "partners",
        "import",
        "--no-invite",
        "--strict",
        file.to_str().expect("p"),
    ]);
    assert_eq!(strict.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&strict.stderr).contains("`tier`, `Owner`"),
        "{}",
        String::from_utf8_lossy(&strict.stderr)
    );
    assert!(env.all_partners().is_empty(), "--strict sends nothing");

    let out = env.run(&[
        "partners",
        "import",
        "--no-invite",
        file.to_str().expect("p"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "the invalid row makes it partial"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("unknown column"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("`tier`, `Owner`"), "{stderr}");
    let s = summary(&out);
    assert_eq!(
        (s["created"].as_u64(), s["invalid"].as_u64()),
        (Some(3), Some(1)),
        "{s}"
    );
    let partners = env.all_partners();
    assert_eq!(partners.len(), 3);
    assert!(partners.iter().all(|p| p.metadata.get("tier").is_none()));

    // With --metadata-column the tier lands on each partner (a fresh server).
    let env = Env::start();
    let file = env.write("crm.csv", csv);
    let out = env.run(&[
        "partners",
        "import",
        "--no-invite",
        "--metadata-column",
        "TIER",
        file.to_str().expect("p"),
    ]);
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`Owner`") && !stderr.contains("`tier`"),
        "{stderr}"
    );
    let partners = env.all_partners();
    assert_eq!(partners.len(), 3);
    let tier = |email: &str| {
        partners
            .iter()
            .find(|p| p.email == email)
            .map(|p| p.metadata.get("TIER").cloned())
            .expect("imported")
    };
    assert_eq!(tier("ann@crm.example.com"), Some(Value::from("gold")));
    assert_eq!(tier("bob@crm.example.com"), Some(Value::from("silver")));
    assert_eq!(tier("cy@crm.example.com"), None, "empty cells are not sent");
    let ann = partners
        .iter()
        .find(|p| p.email == "ann@crm.example.com")
        .expect("ann");
    if base_api_mode() {
        // API.md §6: without `external-id` the column is not sent (rows match by email),
        // and the import says so.
        assert_eq!(ann.external_id, None);
        assert!(stderr.contains("does not support external ids"), "{stderr}");
    } else {
        assert_eq!(ann.external_id.as_deref(), Some("crm-1"));
    }
}

/// A server allowing 40 requests per second: 200 events at concurrency 16 cannot pass
/// without 429s, yet the import ends exact — every line created once, none failed — and
/// took at least the ~4 s the limit imposes.
#[test]
fn a_throttled_events_import_still_ends_exact() {
    let env = Env::start_with(|c| {
        c.rate_limit = Some(RateLimit {
            requests: 40,
            window: Duration::from_secs(1),
        });
    });
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!(
            "{{\"id\":\"thr-{i}\",\"userId\":\"u{}\",\"type\":\"sale\",\"value\":{i}.25}}\n",
            i % 7
        ));
    }
    let file = env.write("throttled.ndjson", &text);
    let out = env.run(&[
        "events",
        "import",
        file.to_str().expect("p"),
        "--concurrency",
        "16",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out);
    assert_eq!(s["created"], 200, "{s}");
    assert_eq!(s["failed"], 0, "{s}");
    assert_eq!(s["replayed"], 0, "{s}");
    assert!(
        s["elapsedMs"].as_u64().expect("ms") >= 3_500,
        "not throttled? {s}"
    );
    let events = env
        .block_on(env.client().export_json(ExportTable::Event))
        .expect("export");
    assert_eq!(events.len(), 200);
}

/// `partners import`, `events import`, `clicks import` and `identify --file` print the same
/// summary keys and write the same report columns, in the same vocabulary.
#[test]
fn every_bulk_command_prints_the_same_summary_shape_and_report_columns() {
    let env = Env::start();
    simple_setup(&env, &["--percent", "10"], 2);
    let partners = env.write(
        "p.csv",
        "email,name\nx1@example.com,X1\nbad,Bad\np1@example.com,Again\n",
    );
    let events = env.write(
        "e.ndjson",
        "{\"userId\":\"u0\",\"type\":\"sale\",\"value\":5}\nnot json\n",
    );
    let clicks = env.write(
        "c.ndjson",
        "{\"id\":\"clk_shape_000000000000001\",\"linkKey\":\"link-one\",\"landingUrl\":\"https://shop.example.com/\",\"ts\":\"2026-10-01T00:00:00.000Z\"}\n{\"id\":1}\n",
    );
    let idents = env.write(
        "i.ndjson",
        "{\"cref\":\"clk_shape_000000000000001\",\"userId\":\"u9\"}\n{\"cref\":1}\n",
    );
    let mut shapes = Vec::new();
    for (name, args) in [
        (
            "partners",
            vec![
                "partners",
                "import",
                "--no-invite",
                partners.to_str().expect("p"),
            ],
        ),
        (
            "events",
            vec!["events", "import", events.to_str().expect("p")],
        ),
        (
            "clicks",
            vec!["clicks", "import", clicks.to_str().expect("p")],
        ),
        (
            "identify",
            vec!["identify", "--file", idents.to_str().expect("p")],
        ),
    ] {
        let report = env.path(&format!("{name}-report.csv"));
        let mut full = args.clone();
        full.extend(["-o", "json", "--report", report.to_str().expect("p")]);
        let out = env.run(&full);
        assert_eq!(out.status.code(), Some(5), "{name}: one invalid line each");
        let s = summary(&out);
        assert_eq!(s["created"], 1, "{name}: {s}");
        assert_eq!(s["invalid"], 1, "{name}: {s}");
        // The bad line is the 2nd data line: line 3 of the CSV (after its header), line 2
        // of the NDJSON files.
        let bad_line = if name == "partners" { 3 } else { 2 };
        assert_eq!(s["problems"][0]["line"], bad_line, "{name}: {s}");
        assert_eq!(s["problems"][0]["outcome"], "invalid", "{name}: {s}");
        assert_eq!(
            report_header(&report),
            ["line", "outcome", "id", "reason"],
            "{name}"
        );
        shapes.push((name, keys(&s)));
        if name == "partners" {
            // p1@example.com exists (simple_setup): "existed", in the same vocabulary.
            assert_eq!(s["existed"], 1, "{s}");
        }
    }
    for (name, shape) in &shapes[1..] {
        assert_eq!(shape, &shapes[0].1, "{name} vs partners");
    }
    assert_eq!(
        shapes[0].1,
        [
            "command",
            "created",
            "elapsedMs",
            "existed",
            "failed",
            "invalid",
            "notSent",
            "problems",
            "replayed",
            "total"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<BTreeSet<_>>()
    );
}

/// The same `id` on many lines sent at once: the server answers the copies that arrive while
/// the first is running with 409 `idempotency_key_in_flight`; the SDK's bulk policy waits
/// them out and they end as replays — one event, nothing failed.
#[test]
fn lines_sharing_an_id_in_flight_at_once_are_one_event() {
    let env = Env::start_with(|c| c.latency = Some(Duration::from_millis(30)));
    let line = "{\"id\":\"same-order\",\"userId\":\"u1\",\"type\":\"sale\",\"value\":10}\n";
    let file = env.write("same.ndjson", &line.repeat(40));
    let out = env.run(&[
        "events",
        "import",
        file.to_str().expect("p"),
        "--concurrency",
        "16",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out);
    assert_eq!(s["created"], 1, "{s}");
    assert_eq!(s["replayed"], 39, "{s}");
    assert_eq!(s["failed"], 0, "{s}");
    let events = env
        .block_on(env.client().export_json(ExportTable::Event))
        .expect("export");
    assert_eq!(events.len(), 1);
}
