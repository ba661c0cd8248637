//! `commissions`: money accrued by attributions (API.md §3.5). `amount` is the exact
//! decimal string (`"40.00"`), never summed in SQL. Lists are newest `accrued_at` first,
//! ties by id (desc), paged by keyset over the `commissions_*` indexes.

use rusqlite::types::Value as Sql;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};

use crate::db::ConnExt;

/// A commission with its program's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionRow {
    /// Commission id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// The attribution it belongs to.
    pub attribution_id: String,
    /// Partner credited.
    pub partner_id: String,
    /// Exact decimal string.
    pub amount: String,
    /// Currency.
    pub currency: String,
    /// `accrued`, `approved`, `paid`, `reversed`.
    pub status: String,
    /// ISO accrual time.
    pub accrued_at: String,
    /// ISO time the payout run paid it.
    pub paid_at: Option<String>,
    /// Payout that paid it.
    pub payout_id: Option<String>,
    /// Holdback of its terms.
    pub holdback_days: Option<i64>,
    /// Program of the attribution.
    pub program_id: Option<String>,
    /// That program's name.
    pub program_name: Option<String>,
    /// ISO end of the holdback.
    pub mature_at: Option<String>,
}

/// Columns read by [`CommissionRow::from_row`] (`c` = commissions, `p` = programs).
pub const COLS: &str =
    "c.id, c.tenant_id, c.attribution_id, c.partner_id, c.amount, c.currency, c.status,
    c.accrued_at, c.paid_at, c.payout_id, c.holdback_days, c.program_id, p.name, c.mature_at";

impl CommissionRow {
    /// Reads a row selected with [`COLS`].
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<CommissionRow> {
        Ok(CommissionRow {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            attribution_id: r.get(2)?,
            partner_id: r.get(3)?,
            amount: r.get(4)?,
            currency: r.get(5)?,
            status: r.get(6)?,
            accrued_at: r.get(7)?,
            paid_at: r.get(8)?,
            payout_id: r.get(9)?,
            holdback_days: r.get(10)?,
            program_id: r.get(11)?,
            program_name: r.get(12)?,
            mature_at: r.get(13)?,
        })
    }
}

/// A new accrued commission.
#[derive(Debug, Clone)]
pub struct NewCommission<'a> {
    /// Commission id.
    pub id: &'a str,
    /// Tenant.
    pub tenant_id: &'a str,
    /// Its attribution.
    pub attribution_id: &'a str,
    /// Partner credited.
    pub partner_id: &'a str,
    /// Program of the attribution.
    pub program_id: &'a str,
    /// Exact decimal string.
    pub amount: &'a str,
    /// Currency.
    pub currency: &'a str,
    /// Holdback of the terms.
    pub holdback_days: Option<i64>,
    /// ISO accrual time.
    pub accrued_at: &'a str,
    /// ISO end of the holdback.
    pub mature_at: Option<&'a str>,
}

/// Inserts an `accrued` commission.
pub fn insert_accrued(c: &Connection, n: &NewCommission<'_>) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO commissions (id, tenant_id, attribution_id, partner_id, program_id, amount, currency, status, holdback_days, accrued_at, mature_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'accrued', ?8, ?9, ?10)",
        params![
            n.id,
            n.tenant_id,
            n.attribution_id,
            n.partner_id,
            n.program_id,
            n.amount,
            n.currency,
            n.holdback_days,
            n.accrued_at,
            n.mature_at
        ],
    )?;
    Ok(())
}

/// Filters of a list page; `None` = no filter.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this partner.
    pub partner_id: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only this program.
    pub program_id: Option<String>,
    /// ISO, inclusive lower bound of `accrued_at`.
    pub since: Option<String>,
    /// ISO, exclusive upper bound of `accrued_at`.
    pub until: Option<String>,
    /// Keyset position: rows strictly before `(accrued_at, id)`.
    pub before: Option<(String, String)>,
}

/// Up to `limit` rows matching `f`, newest first (`accrued_at` desc, id desc).
pub fn list_page(
    c: &Connection,
    tenant_id: &str,
    f: &ListFilter,
    limit: i64,
) -> rusqlite::Result<Vec<CommissionRow>> {
    let mut wh = vec!["c.tenant_id = ?"];
    let mut args: Vec<Sql> = vec![Sql::Text(tenant_id.into())];
    let mut text = |wh: &mut Vec<&str>, cond, v: &Option<String>| {
        if let Some(v) = v {
            wh.push(cond);
            args.push(Sql::Text(v.clone()));
        }
    };
    text(&mut wh, "c.partner_id = ?", &f.partner_id);
    text(&mut wh, "c.status = ?", &f.status);
    text(&mut wh, "c.program_id = ?", &f.program_id);
    text(&mut wh, "c.accrued_at >= ?", &f.since);
    text(&mut wh, "c.accrued_at < ?", &f.until);
    if let Some((ts, id)) = &f.before {
        wh.push("(c.accrued_at, c.id) < (?, ?)");
        args.push(Sql::Text(ts.clone()));
        args.push(Sql::Text(id.clone()));
    }
    args.push(Sql::Integer(limit));
    let sql = format!(
        "SELECT {COLS} FROM commissions c LEFT JOIN programs p ON p.id = c.program_id
         WHERE {} ORDER BY c.accrued_at DESC, c.id DESC LIMIT ?",
        wh.join(" AND ")
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params_from_iter(args), CommissionRow::from_row)?;
    rows.collect()
}

/// Commission `id` of the tenant, if any.
pub fn get(c: &Connection, tenant_id: &str, id: &str) -> rusqlite::Result<Option<CommissionRow>> {
    c.row(
        &format!(
            "SELECT {COLS} FROM commissions c LEFT JOIN programs p ON p.id = c.program_id
             WHERE c.tenant_id = ?1 AND c.id = ?2"
        ),
        params![tenant_id, id],
        CommissionRow::from_row,
    )
    .optional()
}

/// Sets the status of commission `id` (`approved`, `reversed`).
pub fn set_status(c: &Connection, id: &str, status: &str) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE commissions SET status = ?2 WHERE id = ?1",
        params![id, status],
    )?;
    Ok(())
}

/// An approved commission waiting for a payout run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    /// Commission id.
    pub id: String,
    /// Partner.
    pub partner_id: String,
    /// Currency.
    pub currency: String,
    /// Exact decimal string.
    pub amount: String,
}

/// The approved commissions of the tenant (only those accrued strictly before ISO
/// `accrued_before`, when given), by partner, currency, accrual time, id.
pub fn approved(
    c: &Connection,
    tenant_id: &str,
    accrued_before: Option<&str>,
) -> rusqlite::Result<Vec<Approved>> {
    let mut st = c.prepare_cached(
        "SELECT id, partner_id, currency, amount FROM commissions
         WHERE tenant_id = ?1 AND status = 'approved' AND (?2 IS NULL OR accrued_at < ?2)
         ORDER BY partner_id, currency, accrued_at, id",
    )?;
    let rows = st.query_map(params![tenant_id, accrued_before], |r| {
        Ok(Approved {
            id: r.get(0)?,
            partner_id: r.get(1)?,
            currency: r.get(2)?,
            amount: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// Marks commission `id` paid by payout `payout_id` at ISO `paid_at`.
pub fn set_paid(c: &Connection, id: &str, payout_id: &str, paid_at: &str) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE commissions SET status = 'paid', paid_at = ?1, payout_id = ?2 WHERE id = ?3",
        params![paid_at, payout_id, id],
    )?;
    Ok(())
}

/// Number of commissions of the tenant.
pub fn count(c: &Connection, tenant_id: &str) -> rusqlite::Result<usize> {
    c.row(
        "SELECT COUNT(*) FROM commissions WHERE tenant_id = ?1",
        [tenant_id],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| usize::try_from(n).unwrap_or(0))
}

/// `(id, accrued_at)` of every commission of the tenant, oldest accrual first.
pub fn ids_by_accrual(c: &Connection, tenant_id: &str) -> rusqlite::Result<Vec<(String, String)>> {
    let mut st = c.prepare_cached(
        "SELECT id, accrued_at FROM commissions WHERE tenant_id = ?1 ORDER BY accrued_at, id",
    )?;
    let rows = st.query_map([tenant_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Inserts a load-test commission with a given `status` and no holdback, payout or
/// attribution row behind it (`--seed commissions:N`).
#[allow(clippy::too_many_arguments)]
pub fn insert_fixture(
    c: &Connection,
    id: &str,
    tenant_id: &str,
    attribution_id: &str,
    partner_id: &str,
    program_id: &str,
    amount: &str,
    currency: &str,
    status: &str,
    accrued_at: &str,
) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO commissions (id, tenant_id, attribution_id, partner_id, program_id, amount, currency, status,
            holdback_days, accrued_at, mature_at, paid_at, payout_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, NULL, NULL, NULL)",
        params![id, tenant_id, attribution_id, partner_id, program_id, amount, currency, status, accrued_at],
    )?;
    Ok(())
}
