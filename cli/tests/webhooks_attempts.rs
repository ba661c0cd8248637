//! `openpartner webhooks attempts ID DELIVERY_ID` against wiremock: it calls
//! `GET /webhooks/:id/deliveries/:deliveryId/attempts` and prints one row per attempt,
//! oldest first, in the attempt-log columns.

use assert_cmd::Command;
use serde_json::json;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ADMIN_KEY: &str = "op_0123456789abcdef0123456789abcdef0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_prints_the_attempt_log() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(599))
        .with_priority(u8::MAX)
        .expect(0)
        .named("unexpected request: no mock of this test matches it")
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/webhooks/wh1/deliveries/d1/attempts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"attempts": [
            {"n":1,"trigger":"scheduled","httpStatus":500,"error":"HTTP 500",
             "responseSnippet":"boom, \"quoted\"","durationMs":12,"at":"2026-11-20T10:30:00.000Z"},
            {"n":2,"trigger":"manual","httpStatus":200,"error":null,
             "responseSnippet":"ok","durationMs":7,"at":"2026-11-20T10:31:00.000Z"}
        ]})))
        .expect(2)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().to_path_buf();
    let base_url = server.uri();
    let run = move |format: &'static str| {
        let mut cmd = Command::cargo_bin("openpartner").expect("binary built");
        for var in ["OPENPARTNER_TENANT", "OPENPARTNER_PROFILE", "RUST_LOG"] {
            cmd.env_remove(var);
        }
        let out = cmd
            .env("OPENPARTNER_CONFIG_DIR", &config_dir)
            .env("CI", "1")
            .env("OPENPARTNER_API_KEY", ADMIN_KEY)
            .env("OPENPARTNER_BASE_URL", &base_url)
            .args(["webhooks", "attempts", "wh1", "d1", "-o", format])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .expect("runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let (csv, ndjson) = tokio::task::spawn_blocking(move || (run("csv"), run("ndjson")))
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines,
        [
            "n,trigger,httpStatus,error,durationMs,at,responseSnippet",
            "1,scheduled,500,HTTP 500,12,2026-11-20T10:30:00.000Z,\"boom, \"\"quoted\"\"\"",
            "2,manual,200,,7,2026-11-20T10:31:00.000Z,ok",
        ]
    );
    let rows: Vec<serde_json::Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["responseSnippet"], "boom, \"quoted\"");
    assert_eq!(rows[1]["trigger"], "manual");
    server.verify().await;
}
