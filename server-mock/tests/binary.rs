//! The `openpartner-mock` binary: first stdout line, refusal without an admin key,
//! durability across `kill -9`, clean shutdown on SIGTERM.

mod bin_support;

use std::process::{Child, Command};
use std::time::Duration;

use bin_support::BIN;

fn start(db: &str) -> (Child, String) {
    bin_support::spawn("bin-admin", &["--db", db])
}

#[test]
fn refuses_to_start_without_admin_key() {
    let out = Command::new(BIN)
        .args(["--port", "0", "--db", ":memory:"])
        .env_remove("ADMIN_API_KEY")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--admin-key") && err.contains("ADMIN_API_KEY"),
        "{err}"
    );
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9_and_sigterm_is_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("sandbox.db");
    let db = db.to_str().expect("utf8 path");
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");

    let (mut child, base) = start(db);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let port: u16 = base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    assert_ne!(port, 0);
    let r = http
        .post(format!("{base}/partners"))
        .bearer_auth("bin-admin")
        .json(&serde_json::json!({"email": "durable@x.co", "name": "D", "sendInvite": false}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 201);
    let id = r.json::<serde_json::Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");

    let (mut child, base) = start(db);
    let r = http
        .get(format!("{base}/partners/{id}"))
        .bearer_auth("bin-admin")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 200);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["email"], "durable@x.co");

    // SIGTERM → clean exit 0
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut waited = 0;
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            assert!(st.success(), "{st:?}");
            break;
        }
        waited += 1;
        assert!(waited < 100, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `--trusted-proxies` (and its environment variable) used to panic at start-up: clap read
/// the `Option<Vec<IpNet>>` field as one range per value (found by tests/hostile.rs).
#[tokio::test]
async fn trusted_proxies_flag_and_env_start_the_server() {
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let (mut by_flag, base) = bin_support::spawn(
        "bin-admin",
        &[
            "--db",
            ":memory:",
            "--trusted-proxies",
            "127.0.0.0/8,::1/128",
        ],
    );
    assert!(base.starts_with("http://"), "no address printed: {base:?}");
    let r = http
        .get(format!("{base}/health"))
        .header("x-forwarded-for", "203.0.113.9, not-an-ip")
        .send()
        .await
        .expect("health");
    assert_eq!(r.status().as_u16(), 200);
    by_flag.kill().expect("kill");
    by_flag.wait().expect("wait");

    let mut by_env = Command::new(BIN)
        .args([
            "--port",
            "0",
            "--db",
            ":memory:",
            "--admin-key",
            "bin-admin",
        ])
        .env("OPENPARTNER_MOCK_TRUSTED_PROXIES", "10.0.0.0/8")
        .env_remove("ADMIN_API_KEY")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(by_env.stdout.take().expect("stdout")),
        &mut line,
    )
    .expect("first line");
    assert!(line.starts_with("http://"), "no address printed: {line:?}");
    by_env.kill().expect("kill");
    by_env.wait().expect("wait");
}
