//! Shared helpers for the end-to-end tests: the reference server in-process on port 0, the
//! real `openpartner` binary, and the SDK.
//!
//! Each test builds its own [`Env`]: a fresh in-memory server (rate limit off, manual
//! clock; `openpartner_mock::Config::for_tests`) running on a private tokio runtime, so the
//! test itself can stay synchronous and run the CLI as a child process.
//!
//! The binary is located with `assert_cmd::cargo::cargo_bin("openpartner")`, i.e. in the
//! same target directory as the test executable. `cargo test --workspace` builds it; when
//! running this crate alone, build it first (`cargo build -p openpartner-cli`).

use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use openpartner::{Client, Credentials};

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

/// `examples/partners.csv` of the repository.
pub fn example_csv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/partners.csv")
}

/// A running reference server plus an isolated CLI configuration directory.
pub struct Env {
    server: Option<openpartner_mock::RunningServer>,
    runtime: Option<tokio::runtime::Runtime>,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// `OPENPARTNER_CONFIG_DIR` for the CLI processes of this test.
    pub config_dir: tempfile::TempDir,
}

impl Env {
    /// Starts a fresh server with `Config::for_tests(ADMIN_KEY)`.
    pub fn start() -> Env {
        Env::start_with(|_| {})
    }

    /// Starts a fresh server after adjusting its test configuration.
    pub fn start_with(adjust: impl FnOnce(&mut openpartner_mock::Config)) -> Env {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let mut config = openpartner_mock::Config::for_tests(ADMIN_KEY);
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
        }
    }

    /// Runs a future on the server's runtime.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.runtime.as_ref().expect("runtime alive").block_on(fut)
    }

    /// An SDK client with the bootstrap admin key.
    pub fn client(&self) -> Client {
        self.client_with(Credentials::admin_key(ADMIN_KEY))
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
        let mut cmd = self.cli_bare();
        cmd.env("OPENPARTNER_API_KEY", ADMIN_KEY)
            .env("OPENPARTNER_BASE_URL", &self.base_url);
        cmd
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
                            .map(|c| c.partner.id)
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
