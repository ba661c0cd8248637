//! Fault injection (`--faults`, `server-mock/src/faults.rs`): each kind forced by the
//! `OpenPartner-Mock-Fault` header does what it says, the seeded rate, the fault log, the
//! exempt routes, and the header ignored without `--faults` (raw HTTP).

mod common;

use std::time::{Duration, Instant};

use common::{send, start_with, ADMIN, T};
use openpartner_mock::faults::{parse_faults, FaultConfig};
use serde_json::{json, Value};

fn faults(spec: &str, seed: u64) -> FaultConfig {
    parse_faults(spec, seed).expect("valid spec")
}

/// A server with `--faults 'rate=0,slow=300ms'`: faults only where the header forces them.
async fn forced_only() -> T {
    start_with(|c| c.faults = Some(faults("rate=0,slow=300ms", 1))).await
}

fn event_post(t: &T, key: &str, fault: Option<&str>) -> reqwest::RequestBuilder {
    let mut rb = t
        .http
        .post(t.url("/attribution/events"))
        .bearer_auth(ADMIN)
        .header("idempotency-key", key)
        .json(&json!({"userId": "u-fault", "type": "purchase", "value": "12.50"}));
    if let Some(f) = fault {
        rb = rb.header("openpartner-mock-fault", f);
    }
    rb
}

/// True when the answer to `rb` cannot be read completely (connection closed before or
/// during the response).
async fn answer_is_lost(rb: reqwest::RequestBuilder) -> bool {
    match rb.send().await {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    }
}

async fn fault_log(t: &T) -> Value {
    let r = t.get("/dev/faults", Some(ADMIN)).await;
    r.assert_status(200).clone()
}

fn events(t: &T) -> i64 {
    t.sql_i64("SELECT COUNT(*) FROM events", &[])
}

#[tokio::test]
async fn forced_503_answers_service_unavailable_without_running_the_handler() {
    let t = forced_only().await;
    let r = send(event_post(&t, "k-503", Some("503"))).await;
    r.assert_err(503, "service_unavailable");
    assert!(
        r.header("openpartner-extensions").is_some(),
        "extensions header kept"
    );
    assert!(r.header("x-request-id").is_some());
    assert_eq!(events(&t), 0);
    // The same key afterwards is a first request (nothing was stored).
    let r = send(event_post(&t, "k-503", None)).await;
    r.assert_status(200);
    assert_eq!(events(&t), 1);
}

#[tokio::test]
async fn forced_429_carries_the_rate_limit_headers() {
    let t = forced_only().await;
    let r = send(event_post(&t, "k-429", Some("429"))).await;
    r.assert_err(429, "rate_limited");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(
        r.header("ratelimit"),
        Some("limit=600, remaining=0, reset=300")
    );
    assert_eq!(r.header("ratelimit-policy"), Some("600;w=300"));
    assert_eq!(r.header("x-ratelimit-limit"), Some("600"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    let reset: i64 = r
        .header("x-ratelimit-reset")
        .expect("x-ratelimit-reset")
        .parse()
        .expect("unix seconds");
    assert!(
        reset > chrono::Utc::now().timestamp(),
        "reset in the future"
    );
    assert_eq!(events(&t), 0);
}

#[tokio::test]
async fn forced_reset_before_writes_nothing() {
    let t = forced_only().await;
    assert!(answer_is_lost(event_post(&t, "k-rb", Some("reset-before"))).await);
    assert_eq!(events(&t), 0, "the handler never ran");
    let r = send(event_post(&t, "k-rb", None)).await;
    r.assert_status(200);
    assert_eq!(r.header("idempotent-replayed"), None, "a first request");
    assert_eq!(events(&t), 1);
}

#[tokio::test]
async fn forced_reset_after_commits_and_the_key_replays_it() {
    let t = forced_only().await;
    assert!(answer_is_lost(event_post(&t, "k-ra", Some("reset-after"))).await);
    assert_eq!(events(&t), 1, "the write is visible afterwards");
    let r = send(event_post(&t, "k-ra", None)).await;
    r.assert_status(200);
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    assert_eq!(events(&t), 1, "not recorded twice");
    // A request that writes nothing loses its answer the same way.
    let lost = t
        .http
        .get(t.url("/partners"))
        .bearer_auth(ADMIN)
        .header("openpartner-mock-fault", "reset-after");
    assert!(answer_is_lost(lost).await);
}

#[tokio::test]
async fn forced_truncate_promises_the_length_and_cuts_the_body() {
    let t = forced_only().await;
    for i in 0..3 {
        t.partner(&format!("trunc-{i}@example.com"), false).await;
    }
    let full = t.get("/partners", Some(ADMIN)).await;
    full.assert_status(200);
    let r = t
        .http
        .get(t.url("/partners"))
        .bearer_auth(ADMIN)
        .header("openpartner-mock-fault", "truncate")
        .send()
        .await
        .expect("the headers arrive");
    assert_eq!(r.status(), 200);
    let promised: usize = r
        .headers()
        .get("content-length")
        .expect("content-length")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(promised, full.text.len(), "the full length is promised");
    assert!(r.bytes().await.is_err(), "the client sees a body error");
    // A write under truncate is committed (the handler ran) and replayed by its key.
    assert!(answer_is_lost(event_post(&t, "k-tr", Some("truncate"))).await);
    assert_eq!(events(&t), 1);
    let again = send(event_post(&t, "k-tr", None)).await;
    again.assert_status(200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(events(&t), 1);
}

#[tokio::test]
async fn forced_slow_delays_the_answer() {
    let t = forced_only().await;
    let started = Instant::now();
    let r = send(event_post(&t, "k-slow", Some("slow"))).await;
    let took = started.elapsed();
    r.assert_status(200);
    assert!(took >= Duration::from_millis(300), "took {took:?}");
    let started = Instant::now();
    t.get("/partners", Some(ADMIN)).await.assert_status(200);
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "unforced is fast"
    );
}

#[tokio::test]
async fn unknown_kind_is_invalid_fault_and_the_log_counts() {
    let t = forced_only().await;
    let r = send(event_post(&t, "k-x", Some("meteor"))).await;
    r.assert_err(400, "invalid_fault");
    assert_eq!(events(&t), 0);
    for kind in ["503", "503", "429", "reset-before", "slow"] {
        let _ = event_post(&t, &format!("k-{kind}"), Some(kind))
            .send()
            .await;
    }
    // 404s are faulted too.
    let r = t
        .http
        .get(t.url("/no-such-route"))
        .header("openpartner-mock-fault", "503")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let log = fault_log(&t).await;
    assert_eq!(log["enabled"], true);
    assert_eq!(log["rate"], 0.0);
    assert_eq!(log["slowMs"], 300);
    assert_eq!(log["seed"], 1);
    assert_eq!(
        log["injected"],
        json!({"503": 3, "429": 1, "reset-before": 1, "reset-after": 0, "slow": 1, "truncate": 0})
    );
    assert_eq!(log["total"], 6);
    assert_eq!(log["kinds"].as_array().map(Vec::len), Some(6));
    // The log itself and /health are never faulted, even when forced.
    let r = t
        .http
        .get(t.url("/dev/faults"))
        .bearer_auth(ADMIN)
        .header("openpartner-mock-fault", "503")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = t
        .http
        .get(t.url("/health"))
        .header("openpartner-mock-fault", "reset-before")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(fault_log(&t).await["total"], 6);
    // Admin only.
    t.get("/dev/faults", None).await.assert_status(401);
}

/// Sends `n` GET /partners and returns how many were faulted, from the server's log.
async fn run_requests(t: &T, n: usize) -> u64 {
    for _ in 0..n {
        let sent = t
            .http
            .get(t.url("/partners"))
            .bearer_auth(ADMIN)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        if let Ok(r) = sent {
            let _ = r.bytes().await;
        }
    }
    fault_log(t).await["total"].as_u64().expect("total")
}

#[tokio::test]
async fn the_rate_is_seeded_and_health_is_never_faulted() {
    let spec = "rate=0.5,kinds=503,429";
    let a = start_with(|c| c.faults = Some(faults(spec, 42))).await;
    let na = run_requests(&a, 400).await;
    assert!(
        (150..=250).contains(&na),
        "rate 0.5 over 400 requests: {na}"
    );
    let b = start_with(|c| c.faults = Some(faults(spec, 42))).await;
    assert_eq!(run_requests(&b, 400).await, na, "same seed, same count");
    let log = fault_log(&a).await;
    let per_kind =
        log["injected"]["503"].as_u64().unwrap() + log["injected"]["429"].as_u64().unwrap();
    assert_eq!(per_kind, na);
    assert!(log["injected"]["503"].as_u64().unwrap() > 0);
    assert!(log["injected"]["429"].as_u64().unwrap() > 0);
    // /health: never, even at rate 1.
    let all = start_with(|c| c.faults = Some(faults("rate=1", 7))).await;
    for _ in 0..50 {
        all.get("/health", None).await.assert_status(200);
    }
    assert_eq!(fault_log(&all).await["total"], 0);
}

#[tokio::test]
async fn without_faults_the_header_is_ignored() {
    let t = start_with(|_| {}).await;
    let r = send(event_post(&t, "k-off", Some("503"))).await;
    r.assert_status(200);
    let r = send(event_post(&t, "k-off-2", Some("meteor"))).await;
    r.assert_status(200);
    assert_eq!(events(&t), 2);
    let log = fault_log(&t).await;
    assert_eq!(
        log,
        json!({"enabled": false, "rate": null, "kinds": [], "slowMs": null, "seed": null,
               "injected": {"503": 0, "429": 0, "reset-before": 0, "reset-after": 0, "slow": 0, "truncate": 0},
               "total": 0})
    );
}

/// The raw bytes the server writes for one `GET /partners` with the fault forced, until
/// it closes the connection.
async fn raw_answer(t: &T, kind: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(t.srv.addr).await.unwrap();
    let req = format!(
        "GET /partners HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ADMIN}\r\n\
         openpartner-mock-fault: {kind}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .expect("the server closes the connection");
    buf
}

#[tokio::test]
async fn on_the_wire_resets_write_nothing_and_truncate_writes_half() {
    let t = forced_only().await;
    assert!(raw_answer(&t, "reset-before").await.is_empty());
    assert!(raw_answer(&t, "reset-after").await.is_empty());
    let raw = String::from_utf8(raw_answer(&t, "truncate").await).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("headers written");
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    let promised: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .expect("content-length")
        .parse()
        .unwrap();
    assert_eq!(body.len(), promised / 2, "half the promised body: {body}");
}

#[tokio::test]
async fn the_openapi_document_marks_the_fault_log_as_a_dev_extension() {
    let t = start_with(|_| {}).await;
    let doc = t.get("/openapi.json", None).await;
    let op = &doc.assert_status(200)["paths"]["/dev/faults"]["get"];
    assert_eq!(op["tags"], json!(["dev"]), "{op}");
    assert_eq!(op["x-extension"], true, "{op}");
    let schema = &doc.body["components"]["schemas"]["FaultLog"];
    for key in [
        "enabled", "rate", "kinds", "slowMs", "seed", "injected", "total",
    ] {
        assert!(
            schema["properties"].get(key).is_some(),
            "FaultLog.{key}: {schema}"
        );
    }
}

#[test]
fn a_bad_spec_is_a_usage_error_naming_the_part() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_openpartner-mock"))
        .args(["--admin-key", "k", "--port", "0", "--db", ":memory:"])
        .args(["--faults", "rate=0.1,kinds=503,meteor"])
        .env_remove("OPENPARTNER_MOCK_FAULTS")
        .env_remove("OPENPARTNER_MOCK_FAULTS_SEED")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown fault kind 'meteor'"), "{err}");
    assert!(out.stdout.is_empty(), "no address printed");
}
