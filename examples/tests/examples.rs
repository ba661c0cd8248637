//! Runs the example programs (`src/bin/*.rs`) against an in-process reference server and
//! checks what they print: `track_events` (idempotency keys, replay detection on a re-run),
//! `commission_report` (filters, exact per-currency sums) and `onboarding`.

use std::process::{Command, Output};
use std::time::Duration;

use openpartner::types::{RecordClick, RuleType, SubRule};
use openpartner::{Client, Credentials};
use rust_decimal::Decimal;

const ADMIN_KEY: &str = "op_examples000000000000000000000000000000000000000000";

/// A reference server on its own runtime (in-memory database, manual clock).
struct Sandbox {
    runtime: tokio::runtime::Runtime,
    server: Option<openpartner_mock::RunningServer>,
    base_url: String,
    scratch: std::path::PathBuf,
}

impl Sandbox {
    fn start(name: &str) -> Sandbox {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut config = openpartner_mock::Config::for_tests(ADMIN_KEY);
        config.route_limits = false;
        let server = runtime
            .block_on(openpartner_mock::spawn(config))
            .expect("server starts");
        let scratch = std::env::temp_dir().join(format!(
            "openpartner-examples-{name}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&scratch).expect("scratch dir");
        Sandbox {
            base_url: server.base_url.clone(),
            server: Some(server),
            runtime,
            scratch,
        }
    }

    fn client(&self) -> Client {
        Client::builder()
            .base_url(self.base_url.as_str())
            .credentials(Credentials::api_key(ADMIN_KEY))
            .build()
            .expect("client")
    }

    /// One 10 % program (no holdback), one partner with a link, and users `u0`, `u1` each
    /// identified to a click of that link on 2026-10-01. Returns (program, partner).
    fn setup(&self) -> (String, String) {
        let client = self.client();
        self.runtime.block_on(async move {
            let program = client
                .programs()
                .create(
                    "Examples",
                    vec![SubRule::every(RuleType::Percent, Decimal::from(10))],
                    "https://shop.example.com/",
                )
                .holdback_days(Some(0))
                .send()
                .await
                .expect("program");
            let partner = client
                .partners()
                .create("examples@example.com", "Examples")
                .send_invite(false)
                .send()
                .await
                .expect("partner")
                .data
                .partner;
            client
                .links()
                .create(&partner.id, "examples-link", &program.id)
                .send()
                .await
                .expect("link");
            for u in 0..2 {
                let click: RecordClick = serde_json::from_value(serde_json::json!({
                    "id": format!("clk_examples_user_{u:08}"),
                    "linkKey": "examples-link",
                    "landingUrl": "https://shop.example.com/",
                    "ts": "2026-10-01T00:00:00.000Z",
                }))
                .expect("click");
                client
                    .clicks()
                    .record(&click)
                    .send()
                    .await
                    .expect("click recorded");
                client
                    .identify(format!("clk_examples_user_{u:08}"), format!("u{u}"))
                    .await
                    .expect("identify");
            }
            (program.id, partner.id)
        })
    }

    /// Runs an example binary against this server.
    fn run(&self, exe: &str, args: &[&str]) -> Output {
        let out = Command::new(exe)
            .args(args)
            .env_remove("OPENPARTNER_TENANT")
            .env("OPENPARTNER_BASE_URL", &self.base_url)
            .env("OPENPARTNER_API_KEY", ADMIN_KEY)
            .output()
            .expect("example runs");
        assert!(
            out.status.success(),
            "{exe} {args:?} exited {:?}\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), server.shutdown()).await
            });
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf8")
}

const EVENTS: &str = r#"{"id":"order-1","userId":"u0","type":"sale","value":100.10,"currency":"USD","ts":"2026-10-05T10:00:00.000Z"}
{"id":"order-2","userId":"u1","type":"sale","value":50,"currency":"USD","ts":"2026-10-05T11:00:00.000Z"}
{"id":"order-3","userId":"u0","type":"sale","value":30.50,"currency":"EUR","ts":"2026-11-02T09:00:00.000Z"}
{"id":"order-4","userId":"nobody","type":"sale","value":9,"currency":"USD","ts":"2026-10-06T09:00:00.000Z"}
"#;

#[test]
fn track_events_stores_once_and_reports_replays_on_a_rerun() {
    let sb = Sandbox::start("track");
    sb.setup();
    let file = sb.scratch.join("events.ndjson");
    std::fs::write(&file, EVENTS).expect("write");
    let path = file.to_str().expect("path");

    let first = stdout(&sb.run(env!("CARGO_BIN_EXE_track_events"), &[path]));
    let lines: Vec<&str> = first.lines().collect();
    assert!(
        lines[0].starts_with("order-1: event ")
            && lines[0].ends_with(" stored (attributed, 1 touch(es))"),
        "{first}"
    );
    assert!(
        lines[3].starts_with("order-4: event ")
            && lines[3].ends_with(" stored (no_identity, 0 touch(es))"),
        "{first}"
    );
    assert!(first.contains("stored 4, replayed 0\n"), "{first}");
    assert!(
        first.contains("  attributed: 3\n  no_identity: 1\n"),
        "{first}"
    );

    // The same file again: every key is known, nothing is stored twice.
    let second = stdout(&sb.run(env!("CARGO_BIN_EXE_track_events"), &[path]));
    assert!(second.contains("stored 0, replayed 4\n"), "{second}");
    let ids = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.split(": event ").nth(1))
            .filter_map(|rest| rest.split(' ').next().map(str::to_string))
            .collect()
    };
    assert_eq!(
        ids(&first),
        ids(&second),
        "a replay answers with the original event ids"
    );
    let events = sb
        .runtime
        .block_on(sb.client().export_json(openpartner::ExportTable::Event))
        .expect("export");
    assert_eq!(events.len(), 4, "each event stored exactly once");

    // A line without an id cannot get a key: the example refuses it.
    let bad = sb.scratch.join("bad.ndjson");
    std::fs::write(&bad, "{\"userId\":\"u0\",\"type\":\"sale\"}\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_track_events"))
        .arg(&bad)
        .env("OPENPARTNER_BASE_URL", &sb.base_url)
        .env("OPENPARTNER_API_KEY", ADMIN_KEY)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"id\""));
}

#[test]
fn commission_report_sums_exact_decimals_per_currency_with_filters() {
    let sb = Sandbox::start("report");
    let (program, partner) = sb.setup();
    let file = sb.scratch.join("events.ndjson");
    std::fs::write(&file, EVENTS).expect("write");
    sb.run(
        env!("CARGO_BIN_EXE_track_events"),
        &[file.to_str().expect("path")],
    );
    let exe = env!("CARGO_BIN_EXE_commission_report");

    // 10 % of 100.10 + 50 USD and of 30.50 EUR, exactly.
    let all = stdout(&sb.run(exe, &[]));
    assert_eq!(all, "EUR 1 3.05\nUSD 2 15.01\ncommissions: 3\n");
    let filtered = stdout(&sb.run(
        exe,
        &[
            "--status",
            "accrued",
            "--partner",
            &partner,
            "--program",
            &program,
            "--since",
            "2026-01-01T00:00:00Z",
            "--until",
            "2100-01-01T00:00:00Z",
        ],
    ));
    assert_eq!(filtered, all);
    // Commissions accrue when the event is tracked (now): nothing before 2026.
    let before = stdout(&sb.run(exe, &["--until", "2026-01-01T00:00:00Z"]));
    assert_eq!(before, "commissions: 0\n");
    let other = stdout(&sb.run(exe, &["--partner", "no-such-partner"]));
    assert_eq!(other, "commissions: 0\n");
    let none = stdout(&sb.run(exe, &["--status", "paid"]));
    assert_eq!(none, "commissions: 0\n");
}

#[test]
fn onboarding_creates_then_reports_the_existing_partner() {
    let sb = Sandbox::start("onboarding");
    let exe = env!("CARGO_BIN_EXE_onboarding");
    let first = stdout(&sb.run(exe, &["new.partner@example.com", "New Partner"]));
    let mut lines = first.lines();
    let created = lines.next().expect("first line");
    assert!(
        created.starts_with("created partner ")
            && created.ends_with(" <new.partner@example.com> (invited: false)"),
        "{first}"
    );
    assert_eq!(lines.next(), Some("newest partners:"));
    assert!(
        lines
            .next()
            .is_some_and(|l| l.contains("new.partner@example.com")),
        "{first}"
    );
    let second = stdout(&sb.run(exe, &["new.partner@example.com", "New Partner"]));
    assert!(
        second.starts_with("new.partner@example.com already exists\n"),
        "{second}"
    );
}
