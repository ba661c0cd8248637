//! `commission_snapshots`: one per partner, the terms frozen for that partner (API.md §3.1).

use std::str::FromStr;

use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};
use rust_decimal::Decimal;

use crate::db::ConnExt;
use crate::rules;
use crate::wire::programs::{CommissionType, Snapshot};

/// Columns read by [`from_row`].
pub const COLS: &str = "partner_id, commission_type, commission_value, recurring, \
     commission_rules, holdback_days, source, snapshotted_at";

/// A snapshot row selected with [`COLS`].
pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Snapshot> {
    let kind: String = r.get(1)?;
    let value: String = r.get(2)?;
    let rules_text: Option<String> = r.get(4)?;
    Ok(Snapshot {
        partner_id: r.get(0)?,
        commission_type: if kind == "fixed" {
            CommissionType::Fixed
        } else {
            CommissionType::Percent
        },
        commission_value: Decimal::from_str(&value)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(2, Type::Text, Box::new(e)))?,
        recurring: r.get(3)?,
        commission_rules: rules_text.map(|t| rules::to_wire_all(&rules::rules_from_stored(&t))),
        holdback_days: r.get(5)?,
        source: r.get(6)?,
        snapshotted_at: r.get(7)?,
    })
}

/// The snapshot of `partner_id`, if it has one.
pub fn get(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
) -> rusqlite::Result<Option<Snapshot>> {
    c.row(
        &format!(
            "SELECT {COLS} FROM commission_snapshots WHERE tenant_id = ?1 AND partner_id = ?2"
        ),
        params![tenant_id, partner_id],
        from_row,
    )
    .optional()
}

/// A snapshot to write.
#[derive(Debug, Clone)]
pub struct NewSnapshot<'a> {
    /// `percent` | `fixed`.
    pub commission_type: &'a str,
    /// The decimal as given.
    pub commission_value: &'a str,
    /// Recurring flag.
    pub recurring: bool,
    /// Stored rules ([`rules::rules_stored`]), or none.
    pub commission_rules: Option<&'a str>,
    /// Holdback days.
    pub holdback_days: Option<i64>,
    /// Where it came from (`amendment`).
    pub source: &'a str,
}

/// Writes (replaces) the snapshot of `partner_id` at `now`.
pub fn upsert(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    s: &NewSnapshot<'_>,
    now: &str,
) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO commission_snapshots (partner_id, tenant_id, commission_type, commission_value, recurring,
            commission_rules, holdback_days, source, snapshotted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (partner_id) DO UPDATE SET commission_type = excluded.commission_type,
            commission_value = excluded.commission_value, recurring = excluded.recurring,
            commission_rules = excluded.commission_rules, holdback_days = excluded.holdback_days,
            source = excluded.source, snapshotted_at = excluded.snapshotted_at",
        params![
            partner_id,
            tenant_id,
            s.commission_type,
            s.commission_value,
            s.recurring,
            s.commission_rules,
            s.holdback_days,
            s.source,
            now
        ],
    )?;
    Ok(())
}

/// Deletes the snapshot of `partner_id`; the number of rows deleted.
pub fn delete(c: &Connection, tenant_id: &str, partner_id: &str) -> rusqlite::Result<usize> {
    c.exec(
        "DELETE FROM commission_snapshots WHERE tenant_id = ?1 AND partner_id = ?2",
        params![tenant_id, partner_id],
    )
}
