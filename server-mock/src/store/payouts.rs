//! `payouts`: one manual payout per (partner, currency) of a payout run (API.md §3.5).
//! `amount` is the exact decimal string of the sum of its commissions.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::db::ConnExt;

/// A stored payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRow {
    /// Payout id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Partner paid.
    pub partner_id: String,
    /// Exact decimal string.
    pub amount: String,
    /// Currency.
    pub currency: String,
    /// Always `manual` here.
    pub method: String,
    /// `pending` or `paid`.
    pub status: String,
    /// The run that created it.
    pub run_id: String,
    /// Commissions it pays.
    pub commission_count: i64,
    /// ISO creation time.
    pub created_at: String,
    /// ISO confirmation time.
    pub completed_at: Option<String>,
}

/// Columns read by [`PayoutRow::from_row`].
pub const COLS: &str = "id, tenant_id, partner_id, amount, currency, method, status, run_id, \
                        commission_count, created_at, completed_at";

impl PayoutRow {
    /// Reads a row selected with [`COLS`].
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<PayoutRow> {
        Ok(PayoutRow {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            partner_id: r.get(2)?,
            amount: r.get(3)?,
            currency: r.get(4)?,
            method: r.get(5)?,
            status: r.get(6)?,
            run_id: r.get(7)?,
            commission_count: r.get(8)?,
            created_at: r.get(9)?,
            completed_at: r.get(10)?,
        })
    }
}

/// Inserts a `pending`, `manual` payout.
#[allow(clippy::too_many_arguments)]
pub fn insert_pending(
    c: &Connection,
    id: &str,
    tenant_id: &str,
    partner_id: &str,
    amount: &str,
    currency: &str,
    run_id: &str,
    commission_count: usize,
    created_at: &str,
) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO payouts (id, tenant_id, partner_id, amount, currency, method, status, run_id,
            commission_count, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'manual', 'pending', ?6, ?7, ?8)",
        params![
            id,
            tenant_id,
            partner_id,
            amount,
            currency,
            run_id,
            commission_count,
            created_at
        ],
    )?;
    Ok(())
}

/// Payout `id` of the tenant, if any.
pub fn get(c: &Connection, tenant_id: &str, id: &str) -> rusqlite::Result<Option<PayoutRow>> {
    c.row(
        &format!("SELECT {COLS} FROM payouts WHERE tenant_id = ?1 AND id = ?2"),
        params![tenant_id, id],
        PayoutRow::from_row,
    )
    .optional()
}

/// Marks payout `id` paid at ISO `completed_at`.
pub fn set_paid(c: &Connection, id: &str, completed_at: &str) -> rusqlite::Result<()> {
    c.exec(
        "UPDATE payouts SET status = 'paid', completed_at = ?1 WHERE id = ?2",
        params![completed_at, id],
    )?;
    Ok(())
}

/// The newest `limit` payouts of a partner (created desc, id desc).
pub fn list_of_partner(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    limit: i64,
) -> rusqlite::Result<Vec<PayoutRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM payouts WHERE tenant_id = ?1 AND partner_id = ?2
         ORDER BY created_at DESC, id DESC LIMIT ?3"
    ))?;
    let rows = st.query_map(params![tenant_id, partner_id, limit], PayoutRow::from_row)?;
    rows.collect()
}
