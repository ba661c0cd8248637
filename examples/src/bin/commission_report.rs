//! A commission report with the `openpartner` SDK: streams every commission matching the
//! filters, page by page, and sums the amounts per currency as exact decimals
//! (`rust_decimal::Decimal`: `0.10 + 0.20` is `0.30`, never `0.30000000000000004`).
//!
//! ```sh
//! export OPENPARTNER_BASE_URL=http://127.0.0.1:4100   # e.g. from ./scripts/demo.sh
//! export OPENPARTNER_API_KEY=op_…                       # an admin key (or commissions:read)
//! cargo run -p openpartner-examples --bin commission_report -- \
//!     --status accrued --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z
//! ```
//!
//! Filters (all optional): `--status accrued|approved|paid|reversed`, `--since TIME`
//! (inclusive), `--until TIME` (exclusive), `--partner ID`, `--program ID`; times are
//! RFC 3339. Prints `CURRENCY COUNT SUM` per currency, then the number of commissions.
//! Against a server without the `commission-filters` extension only one page can be read;
//! the report then says so on stderr when that page came back full.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use openpartner::{Client, Credentials};
use rust_decimal::Decimal;

fn time(flag: &str, v: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .with_context(|| format!("{flag} {v:?}: not an RFC 3339 time"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let base_url = std::env::var("OPENPARTNER_BASE_URL")
        .context("set OPENPARTNER_BASE_URL (e.g. http://127.0.0.1:4100)")?;
    let api_key = std::env::var("OPENPARTNER_API_KEY").context("set OPENPARTNER_API_KEY")?;
    let mut builder = Client::builder()
        .base_url(base_url.as_str())
        .credentials(Credentials::api_key(api_key));
    if let Ok(tenant) = std::env::var("OPENPARTNER_TENANT") {
        builder = builder.tenant(tenant);
    }
    let client = builder.build()?;

    // 1. The filters, as builder calls (sent on the wire; the SDK pages with nextCursor).
    let mut req = client.commissions().list().page_size(500);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        req = match flag.as_str() {
            "--status" => req.status(value),
            "--since" => req.since(time(&flag, &value)?),
            "--until" => req.until(time(&flag, &value)?),
            "--partner" => req.partner_id(value),
            "--program" => req.program_id(value),
            other => {
                bail!("unknown flag {other}: use --status, --since, --until, --partner, --program")
            }
        };
    }

    // 2. Stream and aggregate: only the per-currency totals are kept in memory.
    let mut totals: BTreeMap<String, (u64, Decimal)> = BTreeMap::new();
    let mut rows = req.stream();
    let mut n = 0u64;
    while let Some(c) = rows.try_next().await? {
        let t = totals.entry(c.currency.clone()).or_default();
        t.0 += 1;
        t.1 += c.amount;
        n += 1;
    }
    if rows.possibly_truncated() {
        eprintln!("warning: this server lacks `commission-filters`: older commissions are missing");
    }

    // 3. The report.
    for (currency, (count, sum)) in &totals {
        println!("{currency} {count} {sum}");
    }
    println!("commissions: {n}");
    Ok(())
}
