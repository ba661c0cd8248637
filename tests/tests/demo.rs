//! The README's main job (`scripts/demo.sh`) in debug form: the real `openpartner-mock`
//! binary on port 0 with a database file, the example import, a restart (after `kill -9`)
//! on the same file, and a re-import that creates nothing.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use openpartner_e2e::{base_api_mode, cli_path, example_csv, run_measured, ADMIN_KEY};
use serde_json::Value;

struct Mock {
    child: Child,
    base_url: String,
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_mock(db: &std::path::Path) -> Mock {
    let bin = assert_cmd::cargo::cargo_bin("openpartner-mock");
    assert!(
        bin.exists(),
        "{} missing: run `cargo test --workspace`",
        bin.display()
    );
    let mut child = Command::new(bin)
        .args(["--port", "0", "--db"])
        .arg(db)
        .args(["--admin-key", ADMIN_KEY, "--rate-limit", "off"])
        .args(base_api_mode().then_some("--no-extensions"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn openpartner-mock");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first stdout line");
    let base_url = first.trim().to_string();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url:?}");
    Mock { child, base_url }
}

fn import(base_url: &str, config: &std::path::Path) -> Value {
    let mut cmd = Command::new(cli_path());
    cmd.env("OPENPARTNER_BASE_URL", base_url)
        .env("OPENPARTNER_API_KEY", ADMIN_KEY)
        .env("OPENPARTNER_CONFIG_DIR", config)
        .env("CI", "1")
        .env_remove("OPENPARTNER_TENANT")
        .args(["partners", "import", "--no-invite", "-o", "json"])
        .arg(example_csv());
    let out = run_measured(cmd, Duration::from_secs(120));
    assert_eq!(out.code, Some(5), "{}", out.stderr);
    serde_json::from_slice(&out.stdout).expect("summary")
}

#[test]
fn demo_flow_survives_a_restart_and_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("sandbox.db");

    let mock = start_mock(&db);
    let first = import(&mock.base_url, dir.path());
    assert_eq!(first["created"], 295, "{first}");
    assert_eq!(first["invalid"], 5);
    drop(mock); // SIGKILL: acknowledged writes must survive.

    let mock = start_mock(&db);
    let second = import(&mock.base_url, dir.path());
    assert_eq!(second["created"], 0, "{second}");
    assert_eq!(second["existed"], 295);
    assert_eq!(second["failed"], 0);

    let out = Command::new(cli_path())
        .env("OPENPARTNER_BASE_URL", &mock.base_url)
        .env("OPENPARTNER_API_KEY", ADMIN_KEY)
        .env("OPENPARTNER_CONFIG_DIR", dir.path())
        .env("CI", "1")
        .args(["partners", "list", "--limit", "5", "-o", "json"])
        .output()
        .expect("list");
    assert!(out.status.success());
    let items: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(items.len(), 5);
}
