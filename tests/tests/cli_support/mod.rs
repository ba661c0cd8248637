//! Helpers for the end-to-end tests of the attribution-side CLI commands: an in-process
//! reference server on port 0 (kept alive by its own runtime) and the real `openpartner`
//! binary pointed at it through the environment (never the keyring: HOME and the config
//! directory are a temporary directory).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use openpartner::{Client, Credentials};
use openpartner_mock::{Config, RunningServer};
use rust_decimal::Decimal;
use serde_json::Value;

/// The bootstrap admin key of the test servers.
pub const ADMIN_KEY: &str = "op_e2e_admin_key_for_cli_tests_000000000000000000";

/// A running server plus a scratch directory.
pub struct Env {
    /// The server (dropped last).
    pub server: RunningServer,
    /// The runtime the server runs on.
    pub rt: tokio::runtime::Runtime,
    /// Scratch directory (config dir, files).
    pub dir: tempfile::TempDir,
}

impl Env {
    /// A server with extensions on, rate limit and route limits off.
    pub fn start() -> Env {
        Env::with(|c| c)
    }

    /// A server with a custom configuration (starting from `Config::for_tests`, route
    /// limits off).
    pub fn with(f: impl FnOnce(Config) -> Config) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut cfg = Config::for_tests(ADMIN_KEY);
        cfg.route_limits = false;
        let cfg = f(cfg);
        let server = rt
            .block_on(openpartner_mock::spawn(cfg))
            .expect("server starts");
        let dir = tempfile::tempdir().expect("tempdir");
        Env { server, rt, dir }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.server.base_url
    }

    /// An SDK admin client.
    pub fn sdk(&self) -> Client {
        Client::builder()
            .base_url(self.url())
            .credentials(Credentials::admin_key(ADMIN_KEY))
            .build()
            .expect("client")
    }

    /// The CLI with the admin key.
    pub fn op(&self) -> assert_cmd::Command {
        self.op_with_key(ADMIN_KEY)
    }

    /// The CLI with another key (e.g. a partner key).
    pub fn op_with_key(&self, key: &str) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::cargo_bin("openpartner").expect("binary");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("OPENPARTNER_BASE_URL", self.url())
            .env("OPENPARTNER_API_KEY", key)
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs the CLI (admin) and returns the output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.op().args(args).output().expect("runs")
    }

    /// Runs the CLI (admin), asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_ok(&out, args);
        String::from_utf8(out.stdout).expect("utf8")
    }

    /// Runs the CLI and parses stdout as JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
    }

    /// A path in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file in the scratch directory.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    /// Σ amount per currency from the raw `/export/Commission.json` (optionally one status).
    pub fn export_sums(&self, status: Option<&str>) -> std::collections::BTreeMap<String, Decimal> {
        let rows = self
            .rt
            .block_on(self.sdk().export_json(openpartner::ExportTable::Commission))
            .expect("export");
        let mut sums = std::collections::BTreeMap::new();
        for r in rows {
            if status.is_some_and(|s| r["status"].as_str() != Some(s)) {
                continue;
            }
            let cur = r["currency"].as_str().expect("currency").to_string();
            let amount: Decimal = r["amount"]
                .as_str()
                .expect("amount is a string")
                .parse()
                .expect("decimal");
            *sums.entry(cur).or_insert(Decimal::ZERO) += amount;
        }
        sums
    }
}

/// Asserts a zero exit code, showing stderr otherwise.
pub fn assert_ok(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "openpartner {args:?} exited {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Parses the `total` rows of a CSV commission report into currency → (count, sum).
pub fn report_totals(csv_text: &str) -> std::collections::BTreeMap<String, (u64, Decimal)> {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = r.headers().expect("headers").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        ["row", "group", "currency", "count", "sum"]
    );
    let mut out = std::collections::BTreeMap::new();
    for rec in r.records() {
        let rec = rec.expect("record");
        if &rec[0] == "total" {
            out.insert(
                rec[2].to_string(),
                (rec[3].parse().expect("count"), rec[4].parse().expect("sum")),
            );
        }
    }
    out
}

/// Parses the `group` rows of a CSV report into (group, currency) → (count, sum string).
pub fn report_groups(csv_text: &str) -> Vec<(String, String, u64, String)> {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    r.records()
        .map(|rec| rec.expect("record"))
        .filter(|rec| &rec[0] == "group")
        .map(|rec| {
            (
                rec[1].to_string(),
                rec[2].to_string(),
                rec[3].parse().expect("count"),
                rec[4].to_string(),
            )
        })
        .collect()
}

/// Repository root (for examples/).
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Sets up one program (20 % by default), one partner with a link, and `users` identified
/// users each stitched to their own click at 2026-10-01. Returns (program id, partner id).
pub fn simple_setup(env: &Env, rule: &[&str], users: usize) -> (String, String) {
    let prog = env.json(
        &[
            &[
                "programs",
                "create",
                "--name",
                "P",
                "--destination-url",
                "https://shop.example.com/",
                "--holdback-days",
                "0",
                "-o",
                "json",
            ][..],
            rule,
        ]
        .concat(),
    );
    let program = prog["id"].as_str().expect("program id").to_string();
    let p = env.json(&[
        "partners",
        "create",
        "--email",
        "p1@example.com",
        "--name",
        "P One",
        "--no-invite",
        "-o",
        "json",
    ]);
    let partner = p["id"].as_str().expect("partner id").to_string();
    env.ok(&[
        "links",
        "create",
        "--partner",
        &partner,
        "--key",
        "link-one",
        "--program",
        &program,
        "-o",
        "json",
    ]);
    let mut clicks = String::new();
    let mut idents = String::new();
    for u in 0..users {
        clicks.push_str(&format!(
            "{{\"id\":\"clk_simple_setup_{u:08}\",\"linkKey\":\"link-one\",\"landingUrl\":\"https://shop.example.com/\",\"ts\":\"2026-10-01T00:00:00.000Z\"}}\n"
        ));
        idents.push_str(&format!(
            "{{\"cref\":\"clk_simple_setup_{u:08}\",\"userId\":\"u{u}\"}}\n"
        ));
    }
    let c = env.write("setup-clicks.ndjson", &clicks);
    let i = env.write("setup-idents.ndjson", &idents);
    env.ok(&["clicks", "import", c.to_str().expect("path")]);
    env.ok(&["identify", "--file", i.to_str().expect("path")]);
    (program, partner)
}
