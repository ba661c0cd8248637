//! The one helper module of the end-to-end tests (the lib of crate `openpartner-e2e`): the
//! reference server in-process on port 0, the real `openpartner` binary, and the SDK.
//!
//! Each test builds its own [`Env`]: a fresh server on a new SQLite file in a temporary
//! directory (so WAL, the writer thread and group commit run as in a real
//! sandbox), with global rate limit and per-route limits off and a manual clock
//! (`openpartner_mock::Config::for_tests`), running on a
//! private tokio runtime, so the test itself can stay synchronous and run the CLI as a
//! child process. [`Env::cli`] / [`Env::cli_with_key`] give the binary with an isolated
//! environment (no inherited `OPENPARTNER_*`, `CI=1` so no keyring, a temporary config
//! directory that doubles as the test's scratch directory); [`Env::run`], [`Env::ok`] and
//! [`Env::json`] run it as the admin. Free functions cover the attribution-side setup
//! ([`simple_setup`]) and the parsing of commission reports ([`report_totals`],
//! [`report_groups`]).
//!
//! **Base-API mode** (API.md §6): with `OPENPARTNER_E2E_NO_EXTENSIONS=1` in the
//! environment every [`Env`] starts its server with `extensions: false` (as
//! `openpartner-mock --no-extensions`), so the same suites prove that the SDK and the CLI
//! stay correct against a server without the [EXT] behaviours (`scripts/check.sh` runs
//! this crate once more that way). A test whose subject is an extension itself calls
//! [`requires_extensions`] first and returns when it says so; a test that pins its own
//! `config.extensions` keeps that setting in both modes.
//!
//! The binary is located with `assert_cmd::cargo::cargo_bin("openpartner")`, i.e. in the
//! same target directory as the test executable. `cargo test --workspace` builds it; when
//! running this crate alone, build it first (`cargo build -p openpartner-cli`).

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use openpartner::{Client, Credentials};
use rust_decimal::Decimal;
use serde_json::Value;

/// Bootstrap admin key of every test server.
pub const ADMIN_KEY: &str = "op_e2e0000000000000000000000000000000000000000000000";

/// Path of the `openpartner` binary (panics with a hint when it was not built).
pub fn cli_path() -> PathBuf {
    let path = assert_cmd::cargo::cargo_bin("openpartner");
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --workspace` or `cargo build -p openpartner-cli` first",
        path.display()
    );
    path
}

/// The repository root (for `examples/`).
pub fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// `examples/partners.csv` of the repository.
pub fn example_csv() -> PathBuf {
    repo_root().join("examples/partners.csv")
}

/// The environment variable that switches every [`Env`] to the base API
/// (`extensions: false`); `1` turns it on, anything else (or unset) leaves extensions on.
pub const NO_EXTENSIONS_VAR: &str = "OPENPARTNER_E2E_NO_EXTENSIONS";

/// True when this run tests against the base API ([`NO_EXTENSIONS_VAR`] is `1`).
pub fn base_api_mode() -> bool {
    std::env::var(NO_EXTENSIONS_VAR).is_ok_and(|v| v == "1")
}

/// The one way a test skips in base-API mode: returns true (the caller then returns at
/// once) when [`base_api_mode`] is on, after printing
/// `skipped (base API): <test>: needs [EXT] <extension>: <reason>` straight to stderr
/// (past the test harness's capture, so every skip shows in the run's output and can be
/// counted with `grep -c '^skipped (base API)'`). Returns false with extensions on.
///
/// Use it only for a test whose subject is the extension itself (e.g. replays of an
/// `Idempotency-Key`); a test of behaviour that §6 defines without the extension asserts
/// that behaviour instead.
pub fn requires_extensions(extension: &str, reason: &str) -> bool {
    if !base_api_mode() {
        return false;
    }
    let current = std::thread::current();
    let test = current.name().unwrap_or("<unnamed test>");
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped (base API): {test}: needs [EXT] {extension}: {reason}"
    );
    true
}

/// A running reference server plus an isolated CLI configuration directory.
pub struct Env {
    server: Option<openpartner_mock::RunningServer>,
    runtime: Option<tokio::runtime::Runtime>,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// `OPENPARTNER_CONFIG_DIR` for the CLI processes of this test, also the test's scratch
    /// directory ([`Env::path`], [`Env::write`]).
    pub config_dir: tempfile::TempDir,
    /// Holds the server's database file.
    _db_dir: tempfile::TempDir,
}

impl Env {
    /// Starts a fresh server with `Config::for_tests(ADMIN_KEY)` (extensions on — off in
    /// base-API mode, see [`base_api_mode`] —, global rate limit off) and the per-route
    /// limits off.
    pub fn start() -> Env {
        Env::start_with(|_| {})
    }

    /// Starts a fresh server after adjusting that test configuration (`adjust` runs after
    /// the base-API switch, so a test that sets `extensions` itself keeps its choice).
    pub fn start_with(adjust: impl FnOnce(&mut openpartner_mock::Config)) -> Env {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let db_dir = tempfile::tempdir().expect("tempdir");
        let mut config = openpartner_mock::Config::for_tests(ADMIN_KEY);
        config.route_limits = false;
        config.db = db_dir.path().join("sandbox.db").display().to_string();
        config.extensions = !base_api_mode();
        adjust(&mut config);
        let server = runtime
            .block_on(openpartner_mock::spawn(config))
            .expect("server starts");
        let base_url = server.base_url.clone();
        Env {
            server: Some(server),
            runtime: Some(runtime),
            base_url,
            config_dir: tempfile::tempdir().expect("tempdir"),
            _db_dir: db_dir,
        }
    }

    /// The running server (e.g. for its manual clock).
    pub fn server(&self) -> &openpartner_mock::RunningServer {
        self.server.as_ref().expect("server alive")
    }

    /// Runs a future on the server's runtime.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.runtime.as_ref().expect("runtime alive").block_on(fut)
    }

    /// An SDK client with the bootstrap admin key.
    pub fn client(&self) -> Client {
        self.client_with(Credentials::api_key(ADMIN_KEY))
    }

    /// An SDK client with other credentials.
    pub fn client_with(&self, credentials: Credentials) -> Client {
        Client::builder()
            .base_url(self.base_url.as_str())
            .credentials(credentials)
            .build()
            .expect("client")
    }

    /// The CLI with a clean environment (no inherited OPENPARTNER_*), `CI=1` and this
    /// test's config directory; no credential.
    pub fn cli_bare(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(cli_path());
        for var in [
            "OPENPARTNER_API_KEY",
            "OPENPARTNER_PLATFORM_KEY",
            "OPENPARTNER_BASE_URL",
            "OPENPARTNER_TENANT",
            "OPENPARTNER_PROFILE",
            "OPENPARTNER_NO_KEYRING",
            "NO_COLOR",
            "RUST_LOG",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("OPENPARTNER_CONFIG_DIR", self.config_dir.path())
            .env("CI", "1")
            .timeout(Duration::from_secs(120));
        cmd
    }

    /// The CLI authenticated through `OPENPARTNER_API_KEY` (the admin key).
    pub fn cli(&self) -> assert_cmd::Command {
        self.cli_with_key(ADMIN_KEY)
    }

    /// The CLI authenticated with another key (e.g. a partner or scoped key) through
    /// `OPENPARTNER_API_KEY`, pointed at this server.
    pub fn cli_with_key(&self, key: &str) -> assert_cmd::Command {
        let mut cmd = self.cli_bare();
        cmd.env("OPENPARTNER_API_KEY", key)
            .env("OPENPARTNER_BASE_URL", &self.base_url);
        cmd
    }

    /// Runs the CLI (admin) and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cli().args(args).output().expect("runs")
    }

    /// Runs the CLI (admin), asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_ok(&out, args);
        String::from_utf8(out.stdout).expect("utf8")
    }

    /// Runs the CLI (admin), asserts success and parses stdout as JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
    }

    /// Runs the CLI (admin), asserts success and parses stdout as a JSON array.
    pub fn json_rows(&self, args: &[&str]) -> Vec<Value> {
        match self.json(args) {
            Value::Array(rows) => rows,
            other => panic!("{args:?}: not a JSON array: {other}"),
        }
    }

    /// A path in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.config_dir.path().join(name)
    }

    /// Writes a file in the scratch directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    /// A `std::process::Command` for the CLI with the admin key (for streaming stdout).
    pub fn std_cli(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(cli_path());
        for var in ["OPENPARTNER_TENANT", "OPENPARTNER_PROFILE", "RUST_LOG"] {
            cmd.env_remove(var);
        }
        cmd.env("OPENPARTNER_CONFIG_DIR", self.config_dir.path())
            .env("CI", "1")
            .env("OPENPARTNER_API_KEY", ADMIN_KEY)
            .env("OPENPARTNER_BASE_URL", &self.base_url);
        cmd
    }

    /// Creates `n` partners (`p<i>@bulk.example.com`, no invite) through the SDK with at
    /// most `concurrency` requests in flight; returns their ids.
    pub fn create_partners(&self, n: usize, concurrency: usize) -> Vec<String> {
        let client = self.client();
        self.block_on(async move {
            let results: Vec<openpartner::Result<String>> = futures::stream::iter(0..n)
                .map(|i| {
                    let client = client.clone();
                    async move {
                        client
                            .partners()
                            .create(format!("p{i:05}@bulk.example.com"), format!("Partner {i}"))
                            .send_invite(false)
                            .send()
                            .await
                            .map(|c| c.data.partner.id)
                    }
                })
                .buffer_unordered(concurrency)
                .collect()
                .await;
            results
                .into_iter()
                .collect::<openpartner::Result<Vec<_>>>()
                .expect("partners created")
        })
    }

    /// Σ amount per currency from the raw `/export/Commission.json` (optionally of one
    /// status), summed as exact decimals.
    pub fn export_sums(&self, status: Option<&str>) -> BTreeMap<String, Decimal> {
        let rows = self
            .block_on(
                self.client()
                    .export_json(openpartner::ExportTable::Commission),
            )
            .expect("export");
        let mut sums = BTreeMap::new();
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

    /// Every partner on the server (through the SDK's stream).
    pub fn all_partners(&self) -> Vec<openpartner::types::Partner> {
        let client = self.client();
        self.block_on(async move {
            let stream = client.partners().list().page_size(200).stream();
            futures::pin_mut!(stream);
            let mut out = Vec::new();
            while let Some(p) = stream.next().await {
                out.push(p.expect("partner page"));
            }
            out
        })
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let (Some(server), Some(rt)) = (self.server.take(), self.runtime.as_ref()) {
            let _ = rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(5), server.shutdown()).await
            });
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// Result of [`run_measured`].
pub struct Measured {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Number of stdout bytes.
    pub stdout: Vec<u8>,
    /// Stderr text.
    pub stderr: String,
    /// Highest `VmHWM` (peak resident set, KiB) read from `/proc/<pid>/status` while the
    /// child ran; `None` where `/proc` is unavailable.
    pub peak_rss_kib: Option<u64>,
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Runs a command to completion, collecting stdout/stderr on threads and polling the
/// child's peak RSS (`VmHWM` is a high-water mark, so the last reading before exit is the
/// peak up to that moment). Fails after `timeout`.
pub fn run_measured(mut cmd: std::process::Command, timeout: Duration) -> Measured {
    let mut child: Child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_t = std::thread::spawn(move || {
        let mut buf = String::new();
        let _ = err.read_to_string(&mut buf);
        buf
    });
    let started = Instant::now();
    let mut peak = None;
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak = Some(peak.map_or(kib, |p: u64| p.max(kib)));
        }
        match child.try_wait().expect("wait") {
            Some(status) => break status,
            None if started.elapsed() > timeout => {
                let _ = child.kill();
                panic!("command timed out after {timeout:?}");
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    Measured {
        code: status.code(),
        stdout: out_t.join().expect("stdout thread"),
        stderr: err_t.join().expect("stderr thread"),
        peak_rss_kib: peak,
    }
}

/// The `error:` lines of a stderr text.
pub fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("error:")).collect()
}

/// Asserts a zero exit code, showing stdout and stderr otherwise.
#[track_caller]
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
pub fn report_totals(csv_text: &str) -> BTreeMap<String, (u64, Decimal)> {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = r.headers().expect("headers").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        ["row", "group", "currency", "count", "sum"]
    );
    let mut out = BTreeMap::new();
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

/// Parses the `group` rows of a CSV report into (group, currency, count, sum string).
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

/// Sets up, through the CLI, one program (with the rule flags `rule`, e.g.
/// `["--percent", "20"]`, and no holdback), one partner (`p1@example.com`) with the link
/// `link-one`, and `users` identified users `u<i>` each stitched to their own click at
/// 2026-10-01. Returns (program id, partner id).
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
