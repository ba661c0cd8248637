//! CLI benchmarks (`harness = false`): see BENCHMARKS.md for the numbers and how to run.
//!
//! ```text
//! cargo build --release -p openpartner-mock -p openpartner-cli
//! cargo bench -p openpartner-e2e --bench cli_bench            # both benchmarks
//! cargo bench -p openpartner-e2e --bench cli_bench -- report  # only (1)
//! cargo bench -p openpartner-e2e --bench cli_bench -- import  # only (2)
//! ```
//!
//! 1. `openpartner commissions report --group-by partner -o csv` against the reference
//!    server seeded with `--seed commissions:10000` and `--seed commissions:1000000`
//!    (file databases under a temp dir, `--rate-limit off`); peak RSS of the CLI process
//!    from `/usr/bin/time -v` ("Maximum resident set size"). Requirement: RSS(1M) ≤ 1.5 ×
//!    RSS(10k). The report's totals are checked against a direct SQL-free recount: the
//!    count of the totals must equal the seeded N.
//! 2. `openpartner events import` of 50,000 events with `--concurrency 1` and then another
//!    50,000 with `--concurrency 16` against the same server (`--rate-limit off`), with
//!    throughput of each (requirement ≥ 5×), then the totals checked exactly: the Event
//!    export has 100,000 rows whose values sum to the files' sum, and the report's
//!    commission sums equal the raw Commission export to the cent.
//!
//! Diagnostics: `BENCH_NO_EXTENSIONS=1` starts the server with `--no-extensions` (the
//! import then runs without idempotency keys, in checkpoint mode); `BENCH_LATENCY_MS=d`
//! sends the imports through an in-bench TCP proxy delaying each chunk by d ms each way;
//! `BENCH_EVENTS=n` changes the 50,000 events per run.
//!
//! Binaries: `$OPENPARTNER_BIN` / `$OPENPARTNER_MOCK_BIN`, else `<target>/release/…`
//! (`common/mod.rs`, shared with `server_bench`).

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::{measure, start_mock, utc_now, write_events, Server, KEY};
use openpartner::{Client, Credentials, ExportTable};
use rust_decimal::Decimal;

fn start_server(db: &Path, seed: Option<&str>) -> Server {
    let mut extra: Vec<String> = Vec::new();
    if let Some(s) = seed {
        extra.extend(["--seed".into(), s.to_string()]);
    }
    // Diagnostic: BENCH_NO_EXTENSIONS=1 runs the server as the base API (no idempotency
    // records; the import then uses its checkpoint file).
    if std::env::var_os("BENCH_NO_EXTENSIONS").is_some() {
        extra.push("--no-extensions".into());
    }
    // Diagnostic: BENCH_SYNCHRONOUS=normal|off lowers the server's durability (default full).
    if let Ok(v) = std::env::var("BENCH_SYNCHRONOUS") {
        extra.extend(["--synchronous".into(), v]);
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    start_mock(db, &extra)
}

fn totals(csv_text: &str) -> BTreeMap<String, (u64, Decimal)> {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.expect("csv");
        if &rec[0] == "total" {
            out.insert(
                rec[2].to_string(),
                (rec[3].parse().expect("n"), rec[4].parse().expect("sum")),
            );
        }
    }
    out
}

fn bench_report(dir: &Path) {
    let mut rows = Vec::new();
    for n in [10_000u64, 1_000_000] {
        let server = start_server(
            &dir.join(format!("report-{n}.db")),
            Some(&format!("commissions:{n}")),
        );
        let m = measure(
            &server.url,
            &[
                "commissions",
                "report",
                "--group-by",
                "partner",
                "-o",
                "csv",
            ],
        );
        let t = totals(&m.stdout);
        let count: u64 = t.values().map(|v| v.0).sum();
        assert_eq!(count, n, "the report must cover every seeded commission");
        say!(
            "report n={n:>9}: wall {:>7.2}s  peak RSS {:>7} KiB  ({:.0} rows/s)  totals {:?}",
            m.wall.as_secs_f64(),
            m.max_rss_kb,
            n as f64 / m.wall.as_secs_f64(),
            t.iter()
                .map(|(c, (k, s))| format!("{c}: {k} rows, {s}"))
                .collect::<Vec<_>>()
        );
        rows.push(m.max_rss_kb);
    }
    let ratio = rows[1] as f64 / rows[0] as f64;
    say!(
        "report RSS ratio 1M/10k = {ratio:.3} (requirement ≤ 1.5): {}",
        if ratio <= 1.5 { "PASS" } else { "FAIL" }
    );
}

fn bench_import(dir: &Path) {
    let n: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
    let users = 100; // identify allows 120/min per IP
    let server = start_server(&dir.join("import.db"), None);
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let client = Client::builder()
        .base_url(server.url.as_str())
        .credentials(Credentials::api_key(KEY))
        .build()
        .expect("client");
    rt.block_on(async {
        use openpartner::types::{RecordClick, RuleType, SubRule};
        let program = client
            .programs()
            .create(
                "Bench",
                vec![SubRule::every(RuleType::Percent, Decimal::new(20, 0))],
                "https://shop.example.com/",
            )
            .send()
            .await
            .expect("program");
        for p in 0..10 {
            let created = client
                .partners()
                .create(format!("bench{p}@example.com"), format!("Bench {p}"))
                .send_invite(false)
                .send()
                .await
                .expect("partner");
            client
                .links()
                .create(&created.partner.id, format!("bench-{p}"), &program.id)
                .send()
                .await
                .expect("link");
        }
        let ts = "2026-10-01T00:00:00Z".parse().expect("ts");
        for u in 0..users {
            let click = RecordClick {
                id: format!("clk_bench_user_{u:010}"),
                link_key: format!("bench-{}", u % 10),
                landing_url: "https://shop.example.com/".into(),
                ip_hash: None,
                user_agent: None,
                referer: None,
                fraud_flag: None,
                ts,
            };
            client.clicks().record(&click).send().await.expect("click");
            client
                .identify(&click.id, format!("user-{u}"))
                .await
                .expect("identify");
        }
    });
    let a = dir.join("events-c1.ndjson");
    let b = dir.join("events-c16.ndjson");
    let sum_a = write_events(&a, "c1", n, users);
    let sum_b = write_events(&b, "c16", n, users);
    // Diagnostic: BENCH_LATENCY_MS=d puts a proxy in front of the server that delays every
    // chunk by d ms in each direction (a round trip of 2d ms, like a real network).
    let latency_ms: u64 = std::env::var("BENCH_LATENCY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let target_url = if latency_ms > 0 {
        let url = rt.block_on(delay_proxy(&server.url, Duration::from_millis(latency_ms)));
        say!("through a proxy adding {latency_ms} ms each way: {url}");
        url
    } else {
        server.url.clone()
    };
    let mut rates = Vec::new();
    for (file, conc) in [(&a, "1"), (&b, "16")] {
        let server_cpu_before = server.cpu();
        let m = measure(
            &target_url,
            &[
                "events",
                "import",
                file.to_str().expect("p"),
                "--concurrency",
                conc,
            ],
        );
        let server_cpu = server.cpu().saturating_sub(server_cpu_before);
        let s: serde_json::Value = serde_json::from_str(m.stdout.trim()).expect("summary");
        assert_eq!(s["created"], n, "{s}");
        assert_eq!(s["failed"], 0, "{s}");
        let rate = n as f64 / m.wall.as_secs_f64();
        say!(
            "events import --concurrency {conc:>2}: {n} events in {:>6.2}s = {rate:>7.0} events/s (peak RSS {} KiB); \
             CPU: server {:.2}s = {:.0} µs/event ({:.0}% of one core), CLI {:.2}s = {:.0} µs/event",
            m.wall.as_secs_f64(),
            m.max_rss_kb,
            server_cpu.as_secs_f64(),
            server_cpu.as_secs_f64() * 1e6 / n as f64,
            100.0 * server_cpu.as_secs_f64() / m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
            m.cpu.as_secs_f64() * 1e6 / n as f64
        );
        rates.push(rate);
    }
    let speedup = rates[1] / rates[0];
    say!(
        "events import speed-up 16 vs 1 = {speedup:.2}x (requirement ≥ 5x): {}",
        if speedup >= 5.0 { "PASS" } else { "FAIL" }
    );
    // Exact totals after the run.
    let (events, commissions) = rt.block_on(async {
        (
            client
                .export_json(ExportTable::Event)
                .await
                .expect("events"),
            client
                .export_json(ExportTable::Commission)
                .await
                .expect("commissions"),
        )
    });
    let value_sum: Decimal = events
        .iter()
        .map(|e| {
            e["value"]
                .as_str()
                .and_then(|v| v.parse::<Decimal>().ok())
                .expect("value")
        })
        .sum();
    assert_eq!(events.len(), 2 * n, "every event stored once");
    assert_eq!(value_sum, sum_a + sum_b, "Σ event values exact");
    let mut raw: BTreeMap<String, Decimal> = BTreeMap::new();
    for c in &commissions {
        *raw.entry(c["currency"].as_str().expect("cur").to_string())
            .or_default() += c["amount"]
            .as_str()
            .expect("amount")
            .parse::<Decimal>()
            .expect("dec");
    }
    if std::env::var_os("BENCH_NO_EXTENSIONS").is_some() {
        // Without `commission-filters` the report can read one page only (exit 5, by
        // design), so only the raw export is summed here.
        say!(
            "totals checked: {} events, Σ value {}, commissions {:?} (report skipped: no commission-filters)",
            events.len(),
            value_sum,
            raw
        );
        return;
    }
    let m = measure(
        &server.url,
        &[
            "commissions",
            "report",
            "--group-by",
            "currency",
            "-o",
            "csv",
        ],
    );
    let rep: BTreeMap<String, Decimal> = totals(&m.stdout)
        .into_iter()
        .map(|(c, (_, s))| (c, s))
        .collect();
    assert_eq!(rep, raw, "report == export");
    say!(
        "totals checked: {} events, Σ value {}, commissions {:?} (report == export)",
        events.len(),
        value_sum,
        rep
    );
}

/// Starts a TCP proxy to `upstream` (an `http://host:port` URL) that sleeps `delay` before
/// forwarding each chunk, in both directions. Returns the proxy's URL. Runs on the bench's
/// runtime until the process ends.
async fn delay_proxy(upstream: &str, delay: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = upstream.trim_start_matches("http://").to_string();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let local = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let addr = addr.clone();
            tokio::spawn(async move {
                let Ok(outbound) = tokio::net::TcpStream::connect(&addr).await else {
                    return;
                };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let (ri, wi) = inbound.into_split();
                let (ro, wo) = outbound.into_split();
                let pipe = |mut r: tokio::net::tcp::OwnedReadHalf,
                            mut w: tokio::net::tcp::OwnedWriteHalf| async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        match r.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                tokio::time::sleep(delay).await;
                                if w.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = w.shutdown().await;
                };
                let up = pipe(ri, wo);
                let down = pipe(ro, wi);
                tokio::join!(up, down);
            });
        }
    });
    format!("http://{local}")
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let dir = tempfile::tempdir().expect("tempdir");
    say!(
        "machine: {} cores; date: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        utc_now()
    );
    if want("report") {
        bench_report(dir.path());
    }
    if want("import") {
        bench_import(dir.path());
    }
}
