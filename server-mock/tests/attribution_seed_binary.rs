//! `openpartner-mock --seed …`: the binary seeds before printing its URL, skips a tenant
//! that already has programs on restart, and rejects unknown seeds.

mod bin_support;

use std::process::Command;

use bin_support::BIN;

fn start(db: &str, seed: &str) -> (std::process::Child, String) {
    bin_support::spawn("seed-admin", &["--db", db, "--seed", seed])
}

async fn count(base: &str) -> usize {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let v: serde_json::Value = http
        .get(format!("{base}/commissions?limit=500"))
        .bearer_auth("seed-admin")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["commissions"].as_array().unwrap().len()
}

#[tokio::test]
async fn seed_flag_fills_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let db = db.to_str().unwrap();
    let (mut child, base) = start(db, "commissions:120");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_eq!(count(&base).await, 120);
    child.kill().unwrap();
    child.wait().unwrap();
    // restart with the same seed: the tenant already has programs → skipped
    let (mut child, base) = start(db, "commissions:120");
    assert_eq!(count(&base).await, 120);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn unknown_seed_fails() {
    let out = Command::new(BIN)
        .args([
            "--port",
            "0",
            "--db",
            ":memory:",
            "--admin-key",
            "k",
            "--seed",
            "bogus",
        ])
        .env_remove("ADMIN_API_KEY")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown seed"));
}

#[tokio::test]
async fn seeds_every_tenant_in_multi_mode() {
    let (mut child, base) = bin_support::spawn(
        "seed-admin",
        &[
            "--db",
            ":memory:",
            "--tenancy",
            "multi",
            "--tenant",
            "acme",
            "--tenant",
            "globex",
            "--seed",
            "commissions:30",
        ],
    );
    assert_eq!(count(&format!("{base}/t/acme")).await, 30);
    assert_eq!(count(&format!("{base}/t/globex")).await, 30);
    child.kill().unwrap();
    child.wait().unwrap();
}
