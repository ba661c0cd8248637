//! Server benchmark (`harness = false`): how close the reference server comes to the limit
//! of this machine, and what that means for `openpartner events import`. See
//! BENCHMARKS.md for the numbers; run it through `scripts/server-bench.sh`, which installs
//! `wrk` (Debian) and the official Node SDK (npm) when missing, builds the release binaries
//! and then runs
//!
//! ```text
//! cargo bench -p openpartner-e2e --bench server_bench
//! ```
//!
//! In one run, on loopback only, each load with `wrk -t2 -c16 -d<BENCH_SECONDS>s` (default
//! 5 s), every load once per round for `BENCH_ROUNDS` rounds (default 3) one after the
//! other, so that what else runs on the machine touches every load alike; the figures
//! compared are the medians over the rounds:
//! 1. the limit: a hello-world axum server that this bench binary starts as a child process
//!    of itself (`server_bench hello-server`): `GET /` and `POST /` answer `{"ok":true}`
//!    and do nothing else (the POST body is read, not parsed);
//! 2. the release `openpartner-mock` (file database, default `--synchronous full`,
//!    `--rate-limit off`): `POST /attribution/events` with a fresh `Idempotency-Key` per
//!    request (what `events import` sends) and the same POST without a key, each against a
//!    fresh server and database, and `GET /partners?limit=20` against one server with 200
//!    partners. The POST bodies are built by `benches/wrk/event.lua` (a distinct anonymous
//!    `userId` per request; the hello-world POST gets the same bodies);
//! 3. `openpartner events import --concurrency 16` of 50,000 distinct events (`BENCH_EVENTS`)
//!    against a fresh server, and the official Node SDK's sequential `trackEvent` loop over
//!    the same file against another fresh server (`scripts/node-sdk-track-loop.cjs`, with
//!    the SDK installed where `BENCH_NODE_SDK` points; skipped, and said so, when unset),
//!    bounded to `BENCH_NODE_SECONDS` (default 60 s) — its rate is events sent / time.
//!
//! Every wrk run must answer 2xx only (a load that counts errors as throughput would lie);
//! the stored events of each POST load are counted afterwards through the export and must
//! be at least wrk's completed requests. Prints req/s, latency, the server's CPU time per
//! request and the ratios with their targets: keyed/unkeyed ≥ 0.8, unkeyed/hello POST ≥
//! 0.35, GET/hello GET ≥ 0.5, import / Node loop ≥ 10.

#[macro_use]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::{bin, measure, start_mock, utc_now, write_events, Server, KEY};
use openpartner::{Client, Credentials, ExportTable};

/// Connections of every load (the CLI's `--concurrency 16`).
const CONNECTIONS: &str = "16";
/// wrk threads: one per core of the 2-core build machine.
const THREADS: &str = "2";

/// The limit: a hello-world axum server on a free loopback port; prints its URL first.
fn hello_server() {
    use axum::routing::get;
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        async fn ok() -> axum::Json<serde_json::Value> {
            axum::Json(serde_json::json!({"ok": true}))
        }
        async fn ok_post(_body: axum::body::Bytes) -> axum::Json<serde_json::Value> {
            axum::Json(serde_json::json!({"ok": true}))
        }
        let app = axum::Router::new().route("/", get(ok).post(ok_post));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("http://{}", listener.local_addr().expect("addr"));
        let _ = std::io::Write::flush(&mut std::io::stdout());
        axum::serve(listener, app).await.expect("serve");
    });
}

/// One wrk run's result.
struct Load {
    rps: f64,
    requests: u64,
}

/// Runs wrk against `server` (at `url`, its base URL or a path under it) for the
/// configured duration, with the Lua `script` and its args after `--`; panics on any
/// non-2xx answer or socket error. Prints req/s, latency and the server's CPU time per
/// request (from /proc).
fn wrk(
    name: &str,
    server: &Server,
    url: &str,
    auth: bool,
    script: Option<(&Path, &[&str])>,
) -> Load {
    let cpu_before = server.cpu();
    let started = Instant::now();
    let secs = std::env::var("BENCH_SECONDS").unwrap_or_else(|_| "5".into());
    let mut cmd = Command::new("wrk");
    cmd.args(["-t", THREADS, "-c", CONNECTIONS, "-d"])
        .arg(format!("{secs}s"))
        .arg("--latency");
    if auth {
        cmd.arg("-H").arg(format!("Authorization: Bearer {KEY}"));
    }
    let mut lua_args: &[&str] = &[];
    if let Some((path, args)) = script {
        cmd.arg("-s").arg(path);
        lua_args = args;
    }
    cmd.arg(url);
    if !lua_args.is_empty() {
        cmd.arg("--").args(lua_args);
    }
    let out = cmd
        .output()
        .expect("run wrk (scripts/server-bench.sh installs it: apt-get install -y wrk)");
    let wall = started.elapsed().as_secs_f64();
    let cpu = server.cpu().saturating_sub(cpu_before).as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("Non-2xx or 3xx responses"),
        "{name}: the server answered errors under load:\n{text}"
    );
    assert!(
        !text.contains("Socket errors"),
        "{name}: socket errors under load:\n{text}"
    );
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::trim))
            .unwrap_or_else(|| panic!("no `{prefix}` in wrk output:\n{text}"))
            .to_string()
    };
    let rps: f64 = field("Requests/sec:").parse().expect("req/s");
    let requests: u64 = text
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .and_then(|(n, _)| n.trim().parse().ok())
        })
        .expect("requests count");
    // "Latency   1.23ms  0.45ms  10.00ms  90.00%": avg, then the 50/99th percentiles.
    let avg = field("Latency")
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string();
    let pct = |p: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(p).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| "?".into())
    };
    let latency = format!("avg {avg}, p50 {}, p99 {}", pct("50%"), pct("99%"));
    say!(
        "{name:<38} {rps:>9.0} req/s  ({requests} requests; latency {latency}; server CPU {:.0} µs/request, {:.0}% of one core)",
        cpu * 1e6 / requests.max(1) as f64,
        100.0 * cpu / wall
    );
    Load { rps, requests }
}

fn client(url: &str) -> Client {
    Client::builder()
        .base_url(url)
        .credentials(Credentials::api_key(KEY))
        .build()
        .expect("client")
}

/// Events stored by a server, counted through `GET /export/Event.json`.
fn stored_events(rt: &tokio::runtime::Runtime, url: &str) -> usize {
    rt.block_on(client(url).export_json(ExportTable::Event))
        .expect("export events")
        .len()
}

/// The median of `v` (not empty).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// `[a, b, c]` with `digits` decimals.
fn rounds_text(v: &[f64], digits: usize) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.digits$}")).collect();
    format!("[{}]", parts.join(", "))
}

/// The 1/5/15-minute load averages (other processes share the 2 cores).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn verdict(ratio: f64, target: f64) -> &'static str {
    if ratio >= target {
        "met"
    } else {
        "NOT met"
    }
}

/// The Node SDK's sequential loop (`scripts/node-sdk-track-loop.cjs`) over `file`; returns
/// (events sent, seconds), or None when `BENCH_NODE_SDK` is unset.
fn node_loop(url: &str, file: &Path) -> Option<(u64, f64)> {
    let sdk = std::env::var_os("BENCH_NODE_SDK")?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("node-sdk-track-loop.cjs");
    let limit = std::env::var("BENCH_NODE_SECONDS").unwrap_or_else(|_| "60".into());
    let out = Command::new("node")
        .arg(&script)
        .arg(file)
        .env("OPENPARTNER_BASE_URL", url)
        .env("OPENPARTNER_API_KEY", KEY)
        .env("OPENPARTNER_NODE_SDK", &sdk)
        .env("NODE_LOOP_SECONDS", &limit)
        .output()
        .expect("run node");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "node loop failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).expect("node summary");
    Some((
        v["sent"].as_u64().expect("sent"),
        v["seconds"].as_f64().expect("seconds"),
    ))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "hello-server") {
        hello_server();
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let lua: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches")
        .join("wrk")
        .join("event.lua");
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_default();
    say!(
        "machine: {} cores ({cpu}); date: {}; load average {}; wrk -t{THREADS} -c{CONNECTIONS}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        utc_now(),
        load_average()
    );
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let run = std::process::id().to_string();

    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);

    // 1. The limit, and 2. the reference server: every load once per round, the rounds
    // one after the other, so that a change in what else runs on the machine touches
    // every load alike; each figure below is the median over the rounds.
    let hello = {
        let mut cmd = Command::new(std::env::current_exe().expect("exe"));
        cmd.arg("hello-server");
        Server::spawn(cmd, "hello-world axum")
    };
    let partners = start_mock(&dir.path().join("partners.db"), &[]);
    rt.block_on(async {
        let c = client(&partners.url);
        for p in 0..200 {
            c.partners()
                .create(format!("bench{p}@example.com"), format!("Bench {p}"))
                .send_invite(false)
                .send()
                .await
                .expect("partner");
        }
    });
    let partners_url = format!("{}/partners?limit=20", partners.url);
    // A keyed or unkeyed event load against a fresh server (a fresh database).
    let post = |name: &str, mode: &str, tag: &str| {
        let server = start_mock(&dir.path().join(format!("{mode}-{tag}.db")), &[]);
        let load = wrk(
            name,
            &server,
            &server.url,
            true,
            Some((&lua, &[mode, "/attribution/events", tag])),
        );
        let stored = stored_events(&rt, &server.url);
        assert!(
            stored as u64 >= load.requests,
            "{name}: {stored} events stored for {} answered requests",
            load.requests
        );
        say!(
            "  {stored} events stored (wrk counted {} answers)",
            load.requests
        );
        load
    };
    let mut loads: [Vec<Load>; 5] = Default::default();
    for round in 1..=rounds {
        say!(
            "round {round} of {rounds} (load average {})",
            load_average()
        );
        let tag = format!("{run}-{round}");
        loads[0].push(wrk("hello-world GET /", &hello, &hello.url, false, None));
        loads[1].push(wrk(
            "hello-world POST /",
            &hello,
            &hello.url,
            false,
            Some((&lua, &["unkeyed", "/", &tag])),
        ));
        loads[2].push(post("mock POST /attribution/events keyed", "keyed", &tag));
        loads[3].push(post("mock POST /attribution/events", "unkeyed", &tag));
        loads[4].push(wrk(
            "mock GET /partners?limit=20",
            &partners,
            &partners_url,
            true,
            None,
        ));
    }
    drop(hello);
    drop(partners);
    let [hello_get, hello_post, keyed, unkeyed, get] =
        loads.map(|l| l.iter().map(|l| l.rps).collect::<Vec<f64>>());

    // 3. events import vs the Node SDK's sequential loop.
    let n: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let file = dir.path().join("events.ndjson");
    write_events(&file, "srv", n, 100);
    let import_rate = {
        let server = start_mock(&dir.path().join("import.db"), &[]);
        let cpu_before = server.cpu();
        let m = measure(
            &server.url,
            &[
                "events",
                "import",
                file.to_str().expect("path"),
                "--concurrency",
                "16",
            ],
        );
        let s: serde_json::Value = serde_json::from_str(m.stdout.trim()).expect("summary");
        assert_eq!(s["created"], n, "{s}");
        let rate = n as f64 / m.wall.as_secs_f64();
        let server_cpu = server.cpu().saturating_sub(cpu_before).as_secs_f64();
        say!(
            "events import --concurrency 16          {rate:>9.0} events/s  ({n} events in {:.2}s; server CPU {:.0} µs/event; CLI CPU {:.2}s)",
            m.wall.as_secs_f64(),
            server_cpu * 1e6 / n as f64,
            m.cpu.as_secs_f64()
        );
        assert_eq!(
            stored_events(&rt, &server.url),
            n,
            "every event stored once"
        );
        rate
    };
    let node_rate = {
        let server = start_mock(&dir.path().join("node.db"), &[]);
        match node_loop(&server.url, &file) {
            Some((sent, secs)) => {
                let rate = sent as f64 / secs;
                say!(
                    "Node SDK trackEvent loop (sequential) {rate:>9.0} events/s  ({sent} events in {secs:.2}s)"
                );
                let stored = stored_events(&rt, &server.url);
                assert_eq!(stored as u64, sent, "the Node loop's events are stored");
                Some(rate)
            }
            None => {
                say!("Node SDK trackEvent loop: skipped (BENCH_NODE_SDK unset; scripts/server-bench.sh installs @openpartner/sdk)");
                None
            }
        }
    };
    // Keep the binaries' paths in the output: which build was measured.
    say!(
        "binaries: {} and {}",
        bin("OPENPARTNER_MOCK_BIN", "openpartner-mock").display(),
        bin("OPENPARTNER_BIN", "openpartner").display()
    );

    say!("load average at the end: {}", load_average());
    say!("\nmedians over {rounds} round(s), req/s (each round's figure in brackets):");
    for (name, v) in [
        ("hello-world GET /", &hello_get),
        ("hello-world POST /", &hello_post),
        ("POST /attribution/events keyed", &keyed),
        ("POST /attribution/events unkeyed", &unkeyed),
        ("GET /partners?limit=20", &get),
    ] {
        say!("  {name:<34} {:>9.0}  {}", median(v), rounds_text(v, 0));
    }
    say!("\nratios of the medians (target; each round's ratio in brackets):");
    let ratio = |name: &str, a: &[f64], b: &[f64], target: f64| {
        let r = median(a) / median(b);
        let per_round: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
        say!(
            "  {name:<30} {r:.3} (≥ {target:.2}): {}  {}",
            verdict(r, target),
            rounds_text(&per_round, 3)
        );
    };
    ratio("keyed / unkeyed POST", &keyed, &unkeyed, 0.8);
    ratio("unkeyed POST / hello POST", &unkeyed, &hello_post, 0.35);
    ratio("GET /partners / hello GET", &get, &hello_get, 0.5);
    if let Some(node) = node_rate {
        let r = import_rate / node;
        say!(
            "  {:<30} {r:.2} (≥ 10): {}",
            "events import / Node loop",
            verdict(r, 10.0)
        );
    }
}
