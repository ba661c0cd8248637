//! `openpartner webhooks listen` end to end, without the reference server's dispatcher: a
//! wiremock stand-in answers `POST /webhooks` (with a known secret) and `DELETE
//! /webhooks/:id`, and the test itself POSTs signed deliveries
//! (`openpartner::webhooks::delivery_headers`) to the listener. Checked: forwarding one at
//! a time in arrival order with the original headers and body, a failed forward answered to
//! the sender with its status, a bad signature refused (400 + stderr + non-zero exit), the
//! endpoint deleted on SIGINT and on SIGTERM, the secret shown only with `--print-secret`.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openpartner::webhooks;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ADMIN_KEY: &str = "op_0123456789abcdef0123456789abcdef0123456789abcdef";
const SECRET: &str = "whsec_listenlistenlistenlistenlisten00";
const ENDPOINT: &str = "whk_listen";

/// The `POST /webhooks` / `DELETE /webhooks/whk_listen` stand-in.
async fn api() -> MockServer {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/webhooks"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "endpoint": {"id": ENDPOINT, "tenantId": "ten_1", "url": "http://127.0.0.1:1/",
                "secretPrefix": "whsec_li", "events": ["*"], "active": true,
                "label": "openpartner webhooks listen", "createdAt": "2026-11-20T10:30:00.000Z",
                "lastUsedAt": null},
            "secret": SECRET
        })))
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("/webhooks/{ENDPOINT}")))
        .and(query_param("hard", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(1)
        .mount(&api)
        .await;
    api
}

/// Starts `openpartner webhooks listen <args>` against `api`.
fn listen(api: &MockServer, config_dir: &Path, args: &[&str]) -> Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("openpartner"));
    for var in [
        "OPENPARTNER_TENANT",
        "OPENPARTNER_PROFILE",
        "NO_COLOR",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("OPENPARTNER_CONFIG_DIR", config_dir)
        .env("OPENPARTNER_API_KEY", ADMIN_KEY)
        .env("OPENPARTNER_BASE_URL", api.uri())
        .env("CI", "1")
        .args(["webhooks", "listen"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("openpartner starts")
}

/// The URL the listener registered (the body of its `POST /webhooks`).
async fn registered_url(api: &MockServer, child: &mut Child) -> (String, Value) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let requests = api.received_requests().await.unwrap_or_default();
        if let Some(r) = requests
            .iter()
            .find(|r| r.method.as_str() == "POST" && r.url.path() == "/webhooks")
        {
            let body: Value = serde_json::from_slice(&r.body).expect("json body");
            // Give the listener a moment to start serving after the create returned.
            tokio::time::sleep(Duration::from_millis(200)).await;
            return (body["url"].as_str().expect("url").to_owned(), body);
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("listener exited early with {status}");
        }
        assert!(Instant::now() < deadline, "the listener never registered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn delivery(event: &str, id: &str, data: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"id": id, "event": event,
        "created": "2026-11-20T10:30:00.000Z", "data": data}))
    .unwrap()
}

fn paid_data() -> Value {
    json!({"commissionId":"com_1","partnerId":"prt_1","amount":"40.10","currency":"USD","payoutId":"pay_1"})
}

async fn send(
    http: &reqwest::Client,
    url: &str,
    event: &str,
    id: &str,
    body: Vec<u8>,
    signed_body: &[u8],
) -> u16 {
    let ts = chrono::Utc::now().timestamp();
    let headers = webhooks::delivery_headers(SECRET, ts, signed_body, event, id);
    http.post(url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .expect("listener answers")
        .status()
        .as_u16()
}

/// Sends a signal to the child by pid.
fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill {sig}");
}

/// Waits for the child (at most 60 s) and returns (exit code, stdout, stderr).
fn finish(mut child: Child) -> (Option<i32>, String, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the listener did not stop after the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), out, err)
}

/// The forward target: records each delivery id with its arrival time; `evt_slow` is
/// answered after 300 ms, `evt_fail` with 500, the rest 200.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(String, Instant)>>>,
}

impl Respond for Receiver {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let id = req
            .headers
            .get(webhooks::DELIVERY_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        self.seen.lock().unwrap().push((id.clone(), Instant::now()));
        match id.as_str() {
            "evt_slow" => ResponseTemplate::new(200).set_delay(Duration::from_millis(300)),
            "evt_fail" => ResponseTemplate::new(500).set_body_string("receiver broke"),
            _ => ResponseTemplate::new(200),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_in_order_answers_the_target_status_refuses_bad_signatures_and_deletes_on_sigint()
{
    let api = api().await;
    let target = MockServer::start().await;
    let receiver = Receiver::default();
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(receiver.clone())
        .mount(&target)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let forward = format!("{}/hook", target.uri());
    let mut child = listen(
        &api,
        dir.path(),
        &[
            "--forward-to",
            &forward,
            "--events",
            "commission.accrued,commission.paid",
            "-o",
            "ndjson",
        ],
    );
    let (url, registered) = registered_url(&api, &mut child).await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(
        registered["events"],
        json!(["commission.accrued", "commission.paid"])
    );
    let http = reqwest::Client::new();

    // A slow delivery, and a second one sent while the first is still being forwarded.
    let slow = delivery(
        "commission.accrued",
        "evt_slow",
        json!({"commissionId":"com_1","partnerId":"prt_1","attributionId":"att_1",
            "clickId":"clk_1","eventId":"evn_1","programId":"prg_1","amount":"40.00",
            "currency":"USD","eventType":"sale","eventValue":"200.00"}),
    );
    let first = {
        let (http, url, slow) = (http.clone(), url.clone(), slow.clone());
        tokio::spawn(async move {
            send(
                &http,
                &url,
                "commission.accrued",
                "evt_slow",
                slow.clone(),
                &slow,
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let next = delivery("commission.paid", "evt_next", paid_data());
    let second = send(
        &http,
        &url,
        "commission.paid",
        "evt_next",
        next.clone(),
        &next,
    )
    .await;
    assert_eq!(first.await.unwrap(), 200);
    assert_eq!(second, 200);

    // The forward target fails: the sender gets its status (so the server would retry).
    let fail = delivery("commission.paid", "evt_fail", paid_data());
    assert_eq!(
        send(
            &http,
            &url,
            "commission.paid",
            "evt_fail",
            fail.clone(),
            &fail
        )
        .await,
        500
    );

    // A tampered body: refused, never forwarded.
    let genuine = delivery("commission.paid", "evt_tampered", paid_data());
    let tampered = String::from_utf8(genuine.clone())
        .unwrap()
        .replace("40.10", "99.10")
        .into_bytes();
    assert_eq!(
        send(
            &http,
            &url,
            "commission.paid",
            "evt_tampered",
            tampered,
            &genuine
        )
        .await,
        400
    );

    // In arrival order, one at a time: the second was forwarded only after the slow one
    // was answered (300 ms), not 100 ms after it.
    let seen = receiver.seen.lock().unwrap().clone();
    let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["evt_slow", "evt_next", "evt_fail"]);
    let gap = seen[1].1.duration_since(seen[0].1);
    assert!(
        gap >= Duration::from_millis(280),
        "forwarded concurrently: {gap:?}"
    );

    // The original headers and the exact body reached the target.
    let forwarded = target.received_requests().await.unwrap();
    assert_eq!(forwarded[0].body, slow);
    let sig = forwarded[0].headers[webhooks::SIGNATURE_HEADER]
        .to_str()
        .unwrap();
    let ts: i64 = forwarded[0].headers[webhooks::TIMESTAMP_HEADER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(sig, webhooks::sign(SECRET, ts, &slow));
    assert_eq!(
        forwarded[0].headers[webhooks::EVENT_HEADER],
        "commission.accrued"
    );
    assert_eq!(forwarded[0].headers["user-agent"], webhooks::USER_AGENT);

    // Ctrl-C: the endpoint is deleted; the rejected delivery makes the exit non-zero.
    signal(&child, "-INT");
    let (code, out, err) = finish(child);
    assert_eq!(code, Some(1), "stdout:\n{out}\nstderr:\n{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("ndjson line"))
        .collect();
    assert_eq!(lines.len(), 3, "{out}");
    let summary: Vec<(&str, &str, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["event"].as_str().unwrap(),
                l["id"].as_str().unwrap(),
                l["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("commission.accrued", "evt_slow", 200),
            ("commission.paid", "evt_next", 200),
            ("commission.paid", "evt_fail", 500),
        ]
    );
    assert_eq!(lines[2]["forwardStatus"], 500);
    assert_eq!(lines[0]["deliveryId"], "evt_slow");
    assert!(err.contains("REJECTED delivery evt_tampered"), "{err}");
    assert!(err.contains("signature mismatch"), "{err}");
    assert!(err.contains("1 delivery failed verification"), "{err}");
    assert!(
        err.contains(&format!("Deleted endpoint {ENDPOINT}")),
        "{err}"
    );
    assert!(
        !out.contains(SECRET) && !err.contains(SECRET),
        "secret leaked"
    );
    // DELETE ?hard=1 arrived exactly once (the mock's expectation, checked on drop).
    api.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_is_answered_502_and_sigterm_deletes_the_endpoint() {
    let api = api().await;
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let forward = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let mut child = listen(
        &api,
        dir.path(),
        &["--forward-to", &forward, "--print-secret", "-o", "table"],
    );
    let (url, registered) = registered_url(&api, &mut child).await;
    assert_eq!(registered["events"], json!(["*"]));
    let http = reqwest::Client::new();
    let ping = delivery("webhook.test", "evt_ping", json!({"_synthetic": true}));
    assert_eq!(
        send(&http, &url, "webhook.test", "evt_ping", ping.clone(), &ping).await,
        502
    );
    signal(&child, "-TERM");
    let (code, out, err) = finish(child);
    assert_eq!(code, Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.starts_with("--> webhook.test evt_ping [forward failed:"),
        "{out}"
    );
    assert!(out.contains("answered 502]"), "{out}");
    assert!(err.contains(&format!("Signing secret: {SECRET}")), "{err}");
    assert!(
        err.contains(&format!("Deleted endpoint {ENDPOINT}")),
        "{err}"
    );
    api.verify().await;
}
