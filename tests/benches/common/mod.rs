//! What the bench binaries (`cli_bench`, `server_bench`) share: the release binaries, the
//! reference server as a child process, the CLI under `/usr/bin/time -v`, event files.
//!
//! Binaries: `$OPENPARTNER_BIN` / `$OPENPARTNER_MOCK_BIN`, else `<target>/release/…`.

// Each bench binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;

/// Prints a result line on stdout at once (the bench may be watched through a pipe).
macro_rules! say {
    ($($t:tt)*) => {{
        println!($($t)*);
        let _ = std::io::Write::flush(&mut std::io::stdout());
    }};
}

/// The admin key the benches start the reference server with.
pub const KEY: &str = "op_bench_admin_key_000000000000000000000000000000000";

/// `<target>/release`: the directory of the release binaries, found from the bench
/// executable (`<target>/release/deps/<bench>-…`).
pub fn target_release() -> PathBuf {
    let exe = std::env::current_exe().expect("exe");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("target dir")
}

/// The path of binary `name`: `$env` when set, else `<target>/release/<name>`.
pub fn bin(env: &str, name: &str) -> PathBuf {
    std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| target_release().join(name))
}

/// A server child process (killed on drop) and the base URL it printed.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Its base URL (`http://127.0.0.1:PORT`), the first line of its stdout.
    pub url: String,
}

impl Server {
    /// Starts `cmd` (stdout piped) and waits for the base URL on its first stdout line.
    /// Panics when the process does not start or prints something else.
    pub fn spawn(mut cmd: Command, what: &str) -> Server {
        let started = Instant::now();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {what}: {e} (build it with --release)"));
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read url");
        let url = line.trim().to_string();
        assert!(url.starts_with("http://"), "{what} said {url:?}");
        eprintln!(
            "{what} {url} ready in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        Server { child, url }
    }

    /// CPU time (user + system) the server process has used so far, from /proc.
    pub fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the `(comm)`: state is field 3; utime 14 and stime 15 (1-based).
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
        let hz = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .unwrap_or(100);
        Duration::from_millis(ticks * 1000 / hz.max(1))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the release `openpartner-mock` on a free port with database `db`, the bench
/// admin key, `--rate-limit off`, `--log warn` and the `extra` flags.
pub fn start_mock(db: &Path, extra: &[&str]) -> Server {
    let mut cmd = Command::new(bin("OPENPARTNER_MOCK_BIN", "openpartner-mock"));
    cmd.args([
        "--port",
        "0",
        "--admin-key",
        KEY,
        "--rate-limit",
        "off",
        "--log",
        "warn",
        "--db",
    ])
    .arg(db)
    .args(extra);
    Server::spawn(cmd, &format!("openpartner-mock {extra:?}"))
}

/// One measured run of the CLI.
pub struct Measured {
    /// Wall time.
    pub wall: Duration,
    /// Peak RSS of the CLI process.
    pub max_rss_kb: u64,
    /// User + system CPU time of the CLI process.
    pub cpu: Duration,
    /// What it printed on stdout.
    pub stdout: String,
}

/// Runs the release CLI under `/usr/bin/time -v` against `url` with the bench key; panics
/// when it fails.
pub fn measure(url: &str, args: &[&str]) -> Measured {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(bin("OPENPARTNER_BIN", "openpartner"))
        .args(args)
        .env("OPENPARTNER_BASE_URL", url)
        .env("OPENPARTNER_API_KEY", KEY)
        .env("NO_COLOR", "1")
        .output()
        .expect("run /usr/bin/time");
    let wall = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openpartner {args:?} failed: {err}");
    let max_rss_kb = err
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .expect("Maximum resident set size in /usr/bin/time -v output");
    let secs = |label: &str| {
        err.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let cpu =
        Duration::from_secs_f64(secs("User time (seconds):") + secs("System time (seconds):"));
    Measured {
        wall,
        max_rss_kb,
        cpu,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

/// Writes `n` events with distinct `id`s (`<tag>-<i>`): every 50th goes to one of the
/// `users` users `user-<k>` (attributed when the bench identified them), the others to
/// distinct anonymous users (stored, `no_identity`). Keeping each identified user's history
/// short stops the attribution cost per event from growing during the run, which would
/// otherwise penalise whichever import runs second on the same server. Returns the exact
/// Σ value.
pub fn write_events(path: &Path, tag: &str, n: usize, users: usize) -> Decimal {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut sum = Decimal::ZERO;
    for i in 0..n {
        let cents = (i as i64 * 7919) % 100_000 + 1;
        let v = Decimal::new(cents, 2);
        sum += v;
        writeln!(
            f,
            "{{\"id\":\"{tag}-{i}\",\"userId\":\"{}\",\"type\":\"sale\",\"value\":{v},\"currency\":\"{}\",\"ts\":\"2026-10-{:02}T{:02}:{:02}:00.000Z\"}}",
            if i % 50 == 0 { format!("user-{}", (i / 50) % users) } else { format!("anon-{tag}-{i}") },
            if (i / 7) % 5 == 0 { "EUR" } else { "USD" },
            10 + i % 15,
            i % 24,
            i % 60
        )
        .expect("write");
    }
    f.flush().expect("flush");
    sum
}

/// The UTC date and time now, e.g. `2026-12-01T20:30:00Z` (from `date -u`).
pub fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
