//! Load check for 1 000 000 commissions (ignored by default; run in release):
//! `cargo test --release -p openpartner-mock --test attribution_bench -- --ignored --nocapture`
//! Seeds `commissions:N` (N from `OPENPARTNER_BENCH_COMMISSIONS`, default 1 000 000),
//! walks filtered keyset pages from the first to the deepest, and streams the CSV export,
//! printing timings and asserting that every page stays fast.

mod attribution_support;

use std::time::{Duration, Instant};

use attribution_support::T;

#[tokio::test]
#[ignore = "load test: run explicitly in release mode"]
async fn million_commissions_page_and_stream() {
    let n: usize = std::env::var("OPENPARTNER_BENCH_COMMISSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let t = T::new().await;
    let started = Instant::now();
    t.srv
        .state()
        .db
        .with_blocking(move |c| {
            openpartner_mock::seed::run(
                c,
                "01J0000000DEFAULTTENANT0000",
                &format!("commissions:{n}"),
                chrono::Utc::now(),
            )
        })
        .expect("db")
        .expect("seed");
    eprintln!("seeded {n} commissions in {:?}", started.elapsed());

    let mut cursor: Option<String> = None;
    let mut pages = 0;
    let mut rows = 0;
    let mut slowest = Duration::ZERO;
    let walk = Instant::now();
    loop {
        let q = match &cursor {
            Some(c) => format!("/commissions?limit=500&status=paid&cursor={c}"),
            None => "/commissions?limit=500&status=paid".to_owned(),
        };
        let t0 = Instant::now();
        let r = t.get(&q).await;
        slowest = slowest.max(t0.elapsed());
        assert_eq!(r.status, 200);
        pages += 1;
        rows += r.body["commissions"].as_array().map_or(0, Vec::len);
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    eprintln!(
        "walked {rows} paid commissions in {pages} pages in {:?} (slowest page {slowest:?})",
        walk.elapsed()
    );
    assert!(slowest < Duration::from_secs(2), "a page took {slowest:?}");

    let t0 = Instant::now();
    let resp = t
        .http
        .get(t.url("/export/Commission.csv"))
        .bearer_auth(attribution_support::ADMIN)
        .send()
        .await
        .unwrap();
    let mut stream = resp;
    let mut bytes = 0usize;
    let mut lines = 0usize;
    while let Some(chunk) = stream.chunk().await.unwrap() {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    eprintln!(
        "streamed {} CSV rows ({bytes} bytes) in {:?}",
        lines,
        t0.elapsed()
    );
    assert_eq!(lines, n, "header + n rows = n line feeds");
}
