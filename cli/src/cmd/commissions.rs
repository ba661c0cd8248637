//! `commissions list | approve | reverse | report` (bare `openpartner commissions` = list).
//!
//! Every command works for admins and for partner credentials: with a partner credential
//! (`/auth/introspect` role `partner`) listings go to the partner's own
//! `/partners/:id/commissions`, and the admin-only `approve`/`reverse` are refused locally
//! (exit 4) without calling the server.
//!
//! `report` streams every page and keeps only the aggregate map (group key × currency →
//! count and exact `Decimal` sum), so its memory does not grow with the number of rows.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use futures::{StreamExt, TryStreamExt};
use openpartner::types::Commission;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::cmd::common::{self, CommissionFilter, Filter};
use crate::cmd::to_json;
use crate::context::Ctx;
use crate::exit::{self, Code};
use crate::output::{self, Column, Format, ListWriter};

/// `openpartner commissions [COMMAND]`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Without a subcommand, lists commissions (like `commissions list`).\n\
                  With a partner credential every listing shows only that partner's own \
                  commissions (GET /partners/:id/commissions); approve and reverse need an admin."
)]
pub struct CommissionsArgs {
    /// Subcommand (default: list).
    #[command(subcommand)]
    pub cmd: Option<CommissionsCmd>,
    /// Filters for the default listing.
    #[command(flatten)]
    pub list: ListArgs,
}

/// `commissions …`
#[derive(Debug, Subcommand)]
pub enum CommissionsCmd {
    /// List commissions (newest first), streaming every page.
    List(ListArgs),
    /// Approve commissions by id, or every accrued one matching the filters.
    ///
    /// Commissions still in their holdback period are skipped (reported as not mature).
    Approve(BulkArgs),
    /// Reverse commissions by id, or every accrued/approved one matching the filters.
    Reverse(BulkArgs),
    /// Aggregate commissions exactly (count and sum per group and currency).
    ///
    /// Streams every page and keeps only the aggregate (constant memory). Against a server
    /// without the `commission-filters` extension only one page can be read: the report then
    /// warns and exits with code 5 (partial result) when that page came back full.
    Report(ReportArgs),
}

/// `commissions list` flags.
#[derive(Debug, Default, Args)]
pub struct ListArgs {
    /// Filters.
    #[command(flatten)]
    pub filter: CommissionFilter,
    /// Stop after this many commissions.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

/// `commissions approve|reverse` flags.
#[derive(Debug, Args)]
pub struct BulkArgs {
    /// Commission ids; without ids, every commission matching the filters.
    pub ids: Vec<String>,
    /// Filters (bulk mode, when no id is given).
    #[command(flatten)]
    pub filter: CommissionFilter,
    /// Only list what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
}

/// `--group-by` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupBy {
    /// Partner id.
    Partner,
    /// Program id.
    Program,
    /// Status.
    Status,
    /// Currency only.
    Currency,
    /// UTC day of `accruedAt` (YYYY-MM-DD).
    Day,
}

/// `commissions report` flags.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Filters.
    #[command(flatten)]
    pub filter: CommissionFilter,
    /// Grouping of the rows.
    #[arg(long, value_enum, default_value = "partner")]
    pub group_by: GroupBy,
}

/// Commission columns: the wire names, in a stable order.
pub fn commission_columns() -> Vec<Column> {
    vec![
        Column::both("id"),
        Column::both("partnerId"),
        Column::both("programId"),
        Column::both("amount"),
        Column::both("currency"),
        Column::both("status"),
        Column::both("accruedAt"),
        Column::csv("matureAt"),
        Column::csv("holdbackDays"),
        Column::csv("paidAt"),
        Column::csv("payoutId"),
        Column::csv("attributionId"),
        Column::csv("campaignName"),
        Column::csv("tenantId"),
    ]
}

/// Runs `commissions …`.
pub async fn run(ctx: &Ctx, args: CommissionsArgs) -> Result<()> {
    match args.cmd {
        None => list(ctx, args.list).await,
        Some(CommissionsCmd::List(a)) => list(ctx, a).await,
        Some(CommissionsCmd::Approve(a)) => bulk(ctx, a, Action::Approve).await,
        Some(CommissionsCmd::Reverse(a)) => bulk(ctx, a, Action::Reverse).await,
        Some(CommissionsCmd::Report(a)) => report(ctx, a).await,
    }
}

fn truncation_failure() -> anyhow::Error {
    exit::fail(
        Code::Partial,
        format!(
            "partial result: this server lacks the `commission-filters` extension and returned \
             a full single page ({} rows); older commissions could not be read",
            common::COMMISSION_PAGE
        ),
    )
}

async fn list(ctx: &Ctx, args: ListArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    let who = common::principal(&client).await?;
    let filter = args.filter.parse()?;
    let mut rows = common::list_commissions(&client, &who, &filter).await?;
    let mut w = ListWriter::new(ctx.format(), commission_columns(), output::stdout());
    let mut n = 0usize;
    while let Some(c) = rows.next().await {
        w.write(&to_json(&c?)?)?;
        n += 1;
        if args.limit.is_some_and(|l| n >= l) {
            break;
        }
    }
    w.finish()?;
    if rows.possibly_truncated() {
        output::warn("the listing may be incomplete (server without `commission-filters`)");
        return Err(truncation_failure());
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Approve,
    Reverse,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reverse => "reverse",
        }
    }
    fn eligible(self, c: &Commission) -> bool {
        match self {
            Action::Approve => c.status == "accrued",
            Action::Reverse => c.status == "accrued" || c.status == "approved",
        }
    }
}

/// Outcome counters of a bulk run.
#[derive(Default)]
struct BulkTally {
    done: u64,
    not_mature: u64,
    skipped: u64,
    failed: u64,
    sums: BTreeMap<String, Decimal>,
}

async fn bulk(ctx: &Ctx, args: BulkArgs, action: Action) -> Result<()> {
    let (client, _) = ctx.client()?;
    let who = common::principal(&client).await?;
    common::admin_only(&who, &format!("commissions {}", action.verb()))?;
    let has_filter = {
        let f = &args.filter;
        f.status.is_some()
            || f.since.is_some()
            || f.until.is_some()
            || f.partner.is_some()
            || f.program.is_some()
    };
    if !args.ids.is_empty() && has_filter {
        return Err(exit::usage("give commission ids or filters, not both"));
    }
    // Targets: explicit ids, or the matching eligible rows (ids and amounts only).
    let mut targets: Vec<(String, Option<(Decimal, String)>)> = Vec::new();
    let mut truncated = false;
    if args.ids.is_empty() {
        let mut filter: Filter = args.filter.parse()?;
        if action == Action::Approve && filter.status.is_none() {
            filter.status = Some("accrued".into());
        }
        let mut rows = common::list_commissions(&client, &who, &filter).await?;
        let mut w = args
            .dry_run
            .then(|| ListWriter::new(ctx.format(), commission_columns(), output::stdout()));
        while let Some(c) = rows.next().await {
            let c = c?;
            if !action.eligible(&c) {
                continue;
            }
            if let Some(w) = w.as_mut() {
                w.write(&to_json(&c)?)?;
            }
            targets.push((c.id, Some((c.amount, c.currency))));
        }
        if let Some(w) = w {
            w.finish()?;
        }
        truncated = rows.possibly_truncated();
    } else {
        targets = args.ids.iter().map(|id| (id.clone(), None)).collect();
        if args.dry_run {
            let mut w = ListWriter::new(ctx.format(), vec![Column::both("id")], output::stdout());
            for (id, _) in &targets {
                w.write(&json!({ "id": id }))?;
            }
            w.finish()?;
        }
    }
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    for (_, amt) in &targets {
        if let Some((a, cur)) = amt {
            *totals.entry(cur.clone()).or_default() += *a;
        }
    }
    let totals_text = totals
        .iter()
        .map(|(c, a)| format!("{} {c}", common::money(*a)))
        .collect::<Vec<_>>()
        .join(", ");
    let summary = format!(
        "{} commission(s){}",
        targets.len(),
        if totals_text.is_empty() {
            String::new()
        } else {
            format!(" totalling {totals_text}")
        }
    );
    if truncated {
        output::warn("the selection may be incomplete (server without `commission-filters`)");
    }
    if args.dry_run {
        output::info(&format!("Dry run: would {} {summary}.", action.verb()));
        return if truncated {
            Err(truncation_failure())
        } else {
            Ok(())
        };
    }
    if targets.is_empty() {
        output::info(&format!("Nothing to {}.", action.verb()));
        return Ok(());
    }
    if !common::confirm(
        &format!("{} {summary}?", capitalise(action.verb())),
        args.yes,
    )? {
        return Err(exit::fail(Code::Usage, "aborted"));
    }
    let tally = Arc::new(std::sync::Mutex::new(BulkTally::default()));
    let client = Arc::new(client);
    futures::stream::iter(targets.into_iter().map(|(id, _)| {
        let client = client.clone();
        let tally = tally.clone();
        async move {
            let r = match action {
                Action::Approve => client.commissions().approve(&id).await,
                Action::Reverse => client.commissions().reverse(&id).await,
            };
            let mut t = match tally.lock() {
                Ok(t) => t,
                Err(p) => p.into_inner(),
            };
            match r {
                Ok(c) => {
                    t.done += 1;
                    *t.sums.entry(c.currency.clone()).or_default() += c.amount;
                }
                Err(e) if e.code() == Some("holdback_active") => t.not_mature += 1,
                Err(e)
                    if e.code() == Some("not_approvable") || e.code() == Some("not_reversible") =>
                {
                    t.skipped += 1;
                }
                Err(e) => {
                    t.failed += 1;
                    output::warn(&format!("{id}: {e}"));
                }
            }
        }
    }))
    .buffer_unordered(args.concurrency as usize)
    .collect::<Vec<()>>()
    .await;
    let t = match tally.lock() {
        Ok(mut t) => std::mem::take(&mut *t),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    let done_text = t
        .sums
        .iter()
        .map(|(c, a)| format!("{} {c}", common::money(*a)))
        .collect::<Vec<_>>()
        .join(", ");
    let past = match action {
        Action::Approve => "approved",
        Action::Reverse => "reversed",
    };
    output::info(&format!(
        "{past}: {} ({}), not mature (holdback): {}, skipped (wrong status): {}, failed: {}",
        t.done,
        if done_text.is_empty() {
            "0"
        } else {
            &done_text
        },
        t.not_mature,
        t.skipped,
        t.failed
    ));
    let summary = json!({
        past: t.done,
        "notMature": t.not_mature,
        "skipped": t.skipped,
        "failed": t.failed,
        "totals": t.sums.iter().map(|(c, a)| json!({"currency": c, "amount": common::money(*a)})).collect::<Vec<_>>(),
    });
    if !matches!(ctx.format(), Format::Table) {
        output::print_object(ctx.format(), Vec::new(), &summary, output::stdout())?;
    }
    if t.failed > 0 {
        return Err(exit::fail(
            Code::Partial,
            format!("{} commission(s) failed to {}", t.failed, action.verb()),
        ));
    }
    if truncated {
        return Err(truncation_failure());
    }
    Ok(())
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Exact aggregate of a commission report: (group, currency) → (count, sum).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Aggregate {
    /// Per group and currency.
    pub groups: BTreeMap<(String, String), (u64, Decimal)>,
    /// Per currency.
    pub totals: BTreeMap<String, (u64, Decimal)>,
}

impl Aggregate {
    /// Adds one commission.
    pub fn add(&mut self, group_by: GroupBy, c: &Commission) {
        let key = match group_by {
            GroupBy::Partner => c.partner_id.clone(),
            GroupBy::Program => c.program_id.clone().unwrap_or_else(|| "(none)".into()),
            GroupBy::Status => c.status.as_str().to_string(),
            GroupBy::Currency => c.currency.clone(),
            GroupBy::Day => c.accrued_at.format("%Y-%m-%d").to_string(),
        };
        let g = self.groups.entry((key, c.currency.clone())).or_default();
        g.0 += 1;
        g.1 += c.amount;
        let t = self.totals.entry(c.currency.clone()).or_default();
        t.0 += 1;
        t.1 += c.amount;
    }
}

/// Runs the report over any commission stream (used by the command and its tests).
pub async fn aggregate<S>(rows: S, group_by: GroupBy) -> Result<Aggregate>
where
    S: futures::Stream<Item = Result<Commission>>,
{
    let mut agg = Aggregate::default();
    futures::pin_mut!(rows);
    while let Some(c) = rows.try_next().await? {
        agg.add(group_by, &c);
    }
    Ok(agg)
}

fn group_name(g: GroupBy) -> &'static str {
    match g {
        GroupBy::Partner => "partnerId",
        GroupBy::Program => "programId",
        GroupBy::Status => "status",
        GroupBy::Currency => "currency",
        GroupBy::Day => "day",
    }
}

/// Writes the report. `csv`: `row,group,currency,count,sum` where `row` is `group` for a
/// group line and `total` for a per-currency total (group empty). `json`: one object
/// `{groupBy, groups:[{group,currency,count,sum}], totals:[{currency,count,sum}]}`.
/// `ndjson`: one line per group then per total, each with a `row` field. `table`: two tables.
pub fn write_report<W: Write>(
    format: Format,
    group_by: GroupBy,
    agg: &Aggregate,
    mut out: W,
) -> Result<()> {
    let group_rows = agg.groups.iter().map(|((g, cur), (n, s))| {
        json!({"row": "group", "group": g, "currency": cur, "count": n, "sum": common::money(*s)})
    });
    let total_rows = agg.totals.iter().map(|(cur, (n, s))| {
        json!({"row": "total", "group": Value::Null, "currency": cur, "count": n, "sum": common::money(*s)})
    });
    match format {
        Format::Csv | Format::Ndjson => {
            let cols = ["row", "group", "currency", "count", "sum"]
                .iter()
                .map(|k| Column::both(k))
                .collect();
            let mut w = ListWriter::new(format, cols, out);
            for r in group_rows.chain(total_rows) {
                w.write(&r)?;
            }
            w.finish()
        }
        Format::Json => {
            let strip = |mut v: Value| {
                if let Some(o) = v.as_object_mut() {
                    o.remove("row");
                }
                v
            };
            let body = json!({
                "groupBy": group_name(group_by),
                "groups": group_rows.map(strip).collect::<Vec<_>>(),
                "totals": total_rows.map(|v| {
                    let mut v = strip(v);
                    if let Some(o) = v.as_object_mut() { o.remove("group"); }
                    v
                }).collect::<Vec<_>>(),
            });
            serde_json::to_writer_pretty(&mut out, &body)?;
            out.write_all(b"\n")?;
            out.flush()?;
            Ok(())
        }
        Format::Table => {
            let cols: Vec<Column> = vec![
                Column {
                    header: group_name(group_by).into(),
                    ..Column::both("group")
                },
                Column::both("currency"),
                Column::both("count"),
                Column::both("sum"),
            ];
            let mut w = ListWriter::new(Format::Table, cols, &mut out);
            for r in group_rows {
                w.write(&r)?;
            }
            w.finish()?;
            writeln!(out, "Totals per currency:")?;
            let cols = vec![
                Column::both("currency"),
                Column::both("count"),
                Column::both("sum"),
            ];
            let mut w = ListWriter::new(Format::Table, cols, &mut out);
            for r in total_rows {
                w.write(&r)?;
            }
            w.finish()?;
            out.flush()?;
            Ok(())
        }
    }
}

async fn report(ctx: &Ctx, args: ReportArgs) -> Result<()> {
    let (client, _) = ctx.client()?;
    let who = common::principal(&client).await?;
    let filter = args.filter.parse()?;
    let mut rows = common::list_commissions(&client, &who, &filter).await?;
    let agg = aggregate(&mut rows, args.group_by).await?;
    write_report(ctx.format(), args.group_by, &agg, output::stdout())?;
    if rows.possibly_truncated() {
        output::warn(
            "this server lacks the `commission-filters` extension: only one page could be read \
             and it came back full, so the report covers only the newest commissions",
        );
        return Err(truncation_failure());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commission(partner: &str, amount: &str, currency: &str, status: &str) -> Commission {
        serde_json::from_value(json!({
            "id": format!("c-{partner}-{amount}"), "tenantId": "t", "attributionId": "a",
            "partnerId": partner, "amount": amount, "currency": currency, "status": status,
            "accruedAt": "2026-11-20T10:30:00.000Z", "paidAt": null, "payoutId": null,
            "programId": "prog", "holdbackDays": null
        }))
        .expect("commission")
    }

    #[tokio::test]
    async fn aggregate_is_exact_and_csv_has_group_and_total_rows() {
        let rows = vec![
            Ok(commission("p1", "0.10", "USD", "accrued")),
            Ok(commission("p1", "0.20", "USD", "paid")),
            Ok(commission("p2", "1.005", "USD", "accrued")),
            Ok(commission("p2", "7.00", "EUR", "accrued")),
        ];
        let agg = aggregate(futures::stream::iter(rows), GroupBy::Partner)
            .await
            .expect("aggregate");
        // 0.1 + 0.2 is exactly 0.30 (no binary floating point).
        assert_eq!(
            agg.groups[&("p1".to_string(), "USD".to_string())],
            (2, Decimal::new(30, 2))
        );
        assert_eq!(agg.totals["USD"], (3, Decimal::new(1305, 3)));
        let mut out = Vec::new();
        write_report(Format::Csv, GroupBy::Partner, &agg, &mut out).expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "row,group,currency,count,sum\n\
             group,p1,USD,2,0.30\n\
             group,p2,EUR,1,7.00\n\
             group,p2,USD,1,1.005\n\
             total,,EUR,1,7.00\n\
             total,,USD,3,1.305\n"
        );
        let by_status = aggregate(
            futures::stream::iter(vec![Ok(commission("p1", "2", "USD", "paid"))]),
            GroupBy::Day,
        )
        .await
        .expect("aggregate");
        assert!(by_status
            .groups
            .contains_key(&("2026-11-20".to_string(), "USD".to_string())));
    }

    #[tokio::test]
    async fn aggregate_propagates_stream_errors() {
        let rows: Vec<Result<Commission>> = vec![Err(anyhow::anyhow!("boom"))];
        assert!(aggregate(futures::stream::iter(rows), GroupBy::Status)
            .await
            .is_err());
    }
}
