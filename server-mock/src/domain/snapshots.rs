//! Commission snapshots (API.md §3.1): validation and writing, shared by
//! `PUT /partners/{id}/commission-snapshot` and `POST /partners` (`commissionSnapshot`).
//!
//! `commissionValue` keeps the decimal as given (`15` → `"15"`); every write through the
//! API has source `amendment`.

use rusqlite::Connection;

use crate::domain::grants::require_partner;
use crate::error::{ApiError, ApiResult, Validation};
use crate::rules::{self, decimal_of};
use crate::store::snapshots::{self as store, NewSnapshot};
use crate::wire::programs::{Snapshot, SnapshotBody};

/// A validated snapshot body.
#[derive(Debug, Clone)]
pub struct SnapshotInput {
    commission_type: &'static str,
    commission_value: String,
    recurring: bool,
    holdback_days: Option<i64>,
    rules: Option<Vec<rules::RuleSpec>>,
}

/// Validates a snapshot body; every field error is collected and reported under
/// `prefix` + the field name (`""` for the PUT body, `"commissionSnapshot."` inside
/// `POST /partners`). Errors: 400 `invalid_body`.
pub fn parse(body: SnapshotBody, prefix: &str) -> ApiResult<SnapshotInput> {
    let mut v = Validation::new();
    let f = |k: &str| format!("{prefix}{k}");
    let commission_type = match body.commission_type.as_deref() {
        Some("percent") => "percent",
        Some("fixed") => "fixed",
        None => {
            v.push(&f("commissionType"), "Required");
            "percent"
        }
        Some(_) => {
            v.push(&f("commissionType"), "Expected 'percent' | 'fixed'");
            "percent"
        }
    };
    let commission_value = match body.commission_value.as_ref().map(decimal_of) {
        Some(Some(d)) if !d.is_sign_negative() => d.to_string(),
        None => {
            v.push(&f("commissionValue"), "Required");
            String::new()
        }
        Some(_) => {
            v.push(&f("commissionValue"), "Expected a number >= 0");
            String::new()
        }
    };
    let holdback_days = match body.holdback_days {
        Some(n) if !(0..=365).contains(&n) => {
            v.push(
                &f("holdbackDays"),
                "Expected an integer between 0 and 365 or null",
            );
            None
        }
        h => h,
    };
    let rules = match body.commission_rules {
        None => None,
        Some(r @ serde_json::Value::Array(_)) => match rules::parse_rules(&r) {
            Ok(x) => Some(x),
            Err(errs) => {
                errs.iter().for_each(|e| v.push(&f("commissionRules"), e));
                None
            }
        },
        Some(_) => {
            v.push(&f("commissionRules"), "Expected an array of 1-10 rules");
            None
        }
    };
    v.finish_body()?;
    Ok(SnapshotInput {
        commission_type,
        commission_value,
        recurring: body.recurring.unwrap_or(false),
        holdback_days,
        rules,
    })
}

/// The snapshot of `partner_id` (`None` when it has none). Errors: 404
/// `partner_not_found`.
pub fn get(c: &Connection, tenant_id: &str, partner_id: &str) -> ApiResult<Option<Snapshot>> {
    require_partner(c, tenant_id, partner_id, "partner_not_found")?;
    Ok(store::get(c, tenant_id, partner_id)?)
}

/// Writes (replaces) the snapshot of `partner_id` at `now` → the stored snapshot.
/// Errors: 404 `partner_not_found`.
pub fn put(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    s: &SnapshotInput,
    now: &str,
) -> ApiResult<Snapshot> {
    require_partner(c, tenant_id, partner_id, "partner_not_found")?;
    let rules = s.rules.as_deref().map(rules::rules_stored);
    store::upsert(
        c,
        tenant_id,
        partner_id,
        &NewSnapshot {
            commission_type: s.commission_type,
            commission_value: &s.commission_value,
            recurring: s.recurring,
            commission_rules: rules.as_deref(),
            holdback_days: s.holdback_days,
            source: "amendment",
        },
        now,
    )?;
    store::get(c, tenant_id, partner_id)?.ok_or_else(ApiError::internal)
}

/// Deletes the snapshot of `partner_id` (none is fine). Errors: 404 `partner_not_found`.
pub fn delete(c: &Connection, tenant_id: &str, partner_id: &str) -> ApiResult<()> {
    require_partner(c, tenant_id, partner_id, "partner_not_found")?;
    store::delete(c, tenant_id, partner_id)?;
    Ok(())
}

/// [`parse`] of a body given as JSON (`commissionSnapshot` inside another body): a value
/// that is not a snapshot object is reported under `prefix` + the offending field.
/// Errors: 400 `invalid_body`.
pub fn parse_value(body: &serde_json::Value, prefix: &str) -> ApiResult<SnapshotInput> {
    if !body.is_object() {
        let mut v = Validation::new();
        v.push_form("Expected an object");
        return Err(ApiError::invalid_body(v));
    }
    let typed: SnapshotBody = serde_path_to_error::deserialize(body).map_err(|e| {
        let field = format!("{prefix}{}", e.path());
        ApiError::body_field(&field, &e.into_inner().to_string())
    })?;
    parse(typed, prefix)
}
