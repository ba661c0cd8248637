//! The SDK and the CLI against a server that injects faults (`--faults`, see
//! server-mock/README.md "Fault injection"): nothing is lost, nothing is doubled, and the
//! CLI gets there by itself. The large version is `scripts/fault-import.sh`.

use openpartner_e2e::{requires_extensions, simple_setup, Env};
use openpartner_mock::faults::parse_faults;
use rust_decimal::Decimal;
use serde_json::Value;

/// A server faulting 10 % of the requests (seeded) with the kinds that break a request
/// after it may have been processed: the body cut off, the connection dropped before or
/// after the handler, 503.
fn faulted_env() -> Env {
    Env::start_with(|c| {
        c.faults = Some(
            parse_faults(
                "rate=0.1,kinds=503,reset-before,reset-after,truncate",
                20_000,
            )
            .expect("spec"),
        )
    })
}

fn fault_log(env: &Env) -> Value {
    let raw = env
        .block_on(
            env.client()
                .with_retry(openpartner::RetryPolicy::none())
                .raw(reqwest::Method::GET, "/dev/faults", None),
        )
        .expect("fault log");
    assert_eq!(raw.status, 200);
    raw.body
}

#[test]
fn setup_and_events_import_under_faults_lose_and_double_nothing() {
    if requires_extensions(
        "idempotency",
        "a POST /attribution/events whose answer was lost may be resent only with an \
         Idempotency-Key (API.md §6); without it the import reports those lines failed \
         instead of risking a double (tests/tests/base_api.rs checks that)",
    ) {
        return;
    }
    let env = faulted_env();
    // Program, partner, link, 60 clicks and identifies: each step must succeed by itself
    // (identify is a POST without credentials: resent because the route deduplicates it).
    let (_, partner) = simple_setup(&env, &["--percent", "10"], 60);
    let mut lines = String::new();
    let mut expected_cents: i64 = 0;
    for i in 0..300i64 {
        // Multiples of 10 cents: 10 % of each is exact, so the sum needs no rounding rule.
        let cents = 1_000 + i * 70;
        expected_cents += cents;
        lines.push_str(&format!(
            "{{\"id\":\"fault-ev-{i:04}\",\"userId\":\"u{}\",\"type\":\"sale\",\"value\":{}.{:02},\"currency\":\"EUR\",\"ts\":\"2026-10-02T00:00:00.000Z\"}}\n",
            i % 60,
            cents / 100,
            cents % 100
        ));
    }
    let file = env.write("events.ndjson", &lines);
    let out = env.run(&[
        "events",
        "import",
        file.to_str().expect("path"),
        "--concurrency",
        "8",
        "-o",
        "json",
    ]);
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert!(
        out.status.success(),
        "events import under faults: {summary}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(summary["failed"], 0, "{summary}");
    assert_eq!(
        summary["created"].as_u64().unwrap() + summary["replayed"].as_u64().unwrap(),
        300,
        "{summary}"
    );
    // Exactly one event per line, and the commissions of exactly those events.
    let events = env
        .block_on(
            env.client()
                .with_retry(openpartner::RetryPolicy::bulk())
                .export_json(openpartner::ExportTable::Event),
        )
        .expect("event export");
    assert_eq!(events.len(), 300);
    let sums = env.export_sums(None);
    assert_eq!(
        sums.get("EUR").copied(),
        Some(Decimal::new(expected_cents, 2) / Decimal::from(10)),
        "10 % of every event, once"
    );
    let partners = env.all_partners();
    assert_eq!(partners.len(), 1);
    assert_eq!(partners[0].id, partner);
    // Every kind was injected on the way (the seed makes this repeatable).
    let log = fault_log(&env);
    for kind in ["503", "reset-before", "reset-after", "truncate"] {
        assert!(
            log["injected"][kind].as_u64().unwrap_or(0) > 0,
            "{kind} injected: {log}"
        );
    }
}

#[test]
fn a_body_cut_off_mid_way_is_retried_not_returned() {
    if requires_extensions(
        "idempotency",
        "resending a POST /partners whose answer was cut off is safe only with an \
         Idempotency-Key (API.md §6)",
    ) {
        return;
    }
    // Every other request truncated at most: a GET and a keyed POST still succeed, and
    // the POST is applied once.
    let env = Env::start_with(|c| {
        c.faults = Some(parse_faults("rate=0.5,kinds=truncate", 3).expect("spec"))
    });
    let client = env.client().with_retry(
        openpartner::RetryPolicy::bulk()
            .base_delay(std::time::Duration::from_millis(1))
            .max_retries(20),
    );
    env.block_on(async {
        for i in 0..20 {
            client
                .partners()
                .create(format!("cut-{i}@example.com"), format!("Cut {i}"))
                .send_invite(false)
                .send()
                .await
                .expect("create under truncation");
        }
        let all = client
            .partners()
            .list()
            .send()
            .await
            .expect("list under truncation");
        assert_eq!(all.items.len(), 20, "each create applied once");
    });
    let log = fault_log(&env);
    assert!(log["injected"]["truncate"].as_u64().unwrap() > 5, "{log}");
}
