//! Partner analytics (API.md §3.1): `partners events`, `partners customers` (offset-paginated
//! listings, streamed page by page) and `stats --timeseries`. Admins name the partner; with a
//! partner credential the partner is yourself (another partner's id is refused, exit 4).

use anyhow::Result;
use clap::{Args, ValueEnum};
use futures::TryStreamExt;
use serde_json::Value;

use crate::cmd::common::{self, parse_time};
use crate::cmd::links::which_partner;
use crate::cmd::to_json;
use crate::context::Ctx;
use crate::output::{self, Column, ListWriter};

/// Paging flags of the analytics listings.
#[derive(Debug, Clone, Args)]
pub struct PagingArgs {
    /// Stop after this many rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Rows fetched per request (1-200; the server's default is 50).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=200))]
    pub page_size: Option<u32>,
}

impl PagingArgs {
    /// The page size to request: `--page-size`, else the smaller of `--limit` and 200.
    fn page_size(&self) -> u32 {
        self.page_size
            .unwrap_or_else(|| self.limit.map_or(200, |l| l.clamp(1, 200) as u32))
    }
}

/// `partners events` flags.
#[derive(Debug, Args)]
pub struct PartnerEventsArgs {
    /// Partner id (default in partner mode: yourself).
    pub partner_id: Option<String>,
    /// Only this program.
    #[arg(long, value_name = "PROGRAM_ID")]
    pub program: Option<String>,
    /// Only this event type (e.g. sale, lead).
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: Option<String>,
    /// Only events at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only events before this time (RFC 3339, or YYYY-MM-DD = that whole day included).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Paging.
    #[command(flatten)]
    pub paging: PagingArgs,
}

/// `partners customers` flags.
#[derive(Debug, Args)]
pub struct CustomersArgs {
    /// Partner id (default in partner mode: yourself).
    pub partner_id: Option<String>,
    /// Only this program.
    #[arg(long, value_name = "PROGRAM_ID")]
    pub program: Option<String>,
    /// Paging.
    #[command(flatten)]
    pub paging: PagingArgs,
}

/// `--bucket` of `stats --timeseries`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Bucket {
    /// One bucket per UTC day.
    Day,
    /// One bucket per week.
    Week,
}

impl Bucket {
    fn as_str(self) -> &'static str {
        match self {
            Bucket::Day => "day",
            Bucket::Week => "week",
        }
    }
}

/// Attributed-event columns (`GET /partners/:id/events`).
pub fn event_columns() -> Vec<Column> {
    vec![
        Column::both("eventId"),
        Column::both("type"),
        Column::both("value"),
        Column::both("currency"),
        Column::both("ts"),
        Column::both("userId"),
        Column::both("weight"),
        Column::csv("model"),
        Column::csv("attributionId"),
        Column::csv("click"),
    ]
}

/// Customer columns (`GET /partners/:id/customers`).
pub fn customer_columns() -> Vec<Column> {
    vec![
        Column::both("userId"),
        Column::both("eventCount"),
        Column::both("revenue"),
        Column::both("firstEventAt"),
        Column::both("lastEventAt"),
    ]
}

/// Timeseries bucket columns (`GET /partners/:id/timeseries`).
pub fn bucket_columns() -> Vec<Column> {
    ["bucket", "clicks", "leads", "sales", "revenue", "earnings"]
        .iter()
        .map(|k| Column::both(k))
        .collect()
}

/// Writes every item of `rows` as it arrives.
async fn write_stream<T, S>(ctx: &Ctx, columns: Vec<Column>, rows: S) -> Result<()>
where
    T: serde::Serialize,
    S: futures::Stream<Item = openpartner::Result<T>>,
{
    let mut w = ListWriter::new(ctx.format(), columns, output::stdout());
    futures::pin_mut!(rows);
    while let Some(row) = rows.try_next().await? {
        w.write(&to_json(&row)?)?;
    }
    w.finish()
}

/// `partners events`: streams `GET /partners/:id/events` (offset pages).
pub async fn events(ctx: &Ctx, args: PartnerEventsArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    let who = common::principal(&client).await?;
    let partner = which_partner(&who, args.partner_id)?;
    let mut q = client
        .partners()
        .events(&partner)
        .page_size(args.paging.page_size());
    if let Some(p) = &args.program {
        q = q.program_id(p);
    }
    if let Some(t) = &args.kind {
        q = q.kind(t);
    }
    if let Some(s) = &args.since {
        q = q.since(parse_time(s, false)?);
    }
    if let Some(u) = &args.until {
        q = q.until(parse_time(u, true)?);
    }
    if let Some(l) = args.paging.limit {
        q = q.limit(l);
    }
    write_stream(ctx, event_columns(), q.stream()).await
}

/// `partners customers`: streams `GET /partners/:id/customers` (offset pages).
pub async fn customers(ctx: &Ctx, args: CustomersArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    let who = common::principal(&client).await?;
    let partner = which_partner(&who, args.partner_id)?;
    let mut q = client
        .partners()
        .customers(&partner)
        .page_size(args.paging.page_size());
    if let Some(p) = &args.program {
        q = q.program_id(p);
    }
    if let Some(l) = args.paging.limit {
        q = q.limit(l);
    }
    write_stream(ctx, customer_columns(), q.stream()).await
}

/// `stats --timeseries`: `GET /partners/:id/timeseries` for `partner`; writes one row per
/// bucket and notes the range and bucket size on stderr.
pub async fn timeseries(
    ctx: &Ctx,
    client: &openpartner::Client,
    partner: &str,
    since: Option<&str>,
    until: Option<&str>,
    program: Option<&str>,
    bucket: Option<Bucket>,
) -> Result<()> {
    let mut q = client.partners().timeseries(partner);
    if let Some(s) = since {
        q = q.since(parse_time(s, false)?);
    }
    if let Some(u) = until {
        q = q.until(parse_time(u, true)?);
    }
    if let Some(p) = program {
        q = q.program_id(p);
    }
    if let Some(b) = bucket {
        q = q.bucket(b.as_str());
    }
    let ts = q.send().await?;
    output::info(&format!(
        "Partner {}: {} to {}, by {}.",
        ts.partner_id,
        openpartner::types::ts::format(&ts.since),
        openpartner::types::ts::format(&ts.until),
        ts.bucket
    ));
    let mut w = ListWriter::new(ctx.format(), bucket_columns(), output::stdout());
    for b in &ts.buckets {
        let v: Value = to_json(b)?;
        w.write(&v)?;
    }
    w.finish()
}
