//! `programs`: the tenant's programs (API.md §3.2).

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::ConnExt;
use crate::rules;
use crate::wire::programs::Program;

/// Columns read by [`from_row`].
pub const COLS: &str = "id, tenant_id, name, commission_rule, attribution_window_days, \
     attribution_model, destination_url, deep_link_allowed_domains, holdback_days, starts_at, \
     ends_at, created_at";

/// A program row selected with [`COLS`] (stored rules are read back normalised).
pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Program> {
    let rule_text: String = r.get(3)?;
    Ok(Program {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        name: r.get(2)?,
        commission_rule: rules::to_wire_all(&rules::rules_from_stored(&rule_text)),
        attribution_window_days: r.get(4)?,
        attribution_model: r.get(5)?,
        destination_url: r.get(6)?,
        deep_link_allowed_domains: r.get(7)?,
        holdback_days: r.get(8)?,
        starts_at: r.get(9)?,
        ends_at: r.get(10)?,
        created_at: r.get(11)?,
    })
}

/// A program as a partner sees it in `GET /me/programs`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProgramSummary {
    /// Program id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Default destination (absolute http(s) URL).
    pub destination_url: String,
    /// Comma-separated deep-link hosts, or null.
    #[schema(required = true)]
    pub deep_link_allowed_domains: Option<String>,
    /// Start of the active period, or null.
    #[schema(required = true)]
    pub starts_at: Option<String>,
    /// End of the active period, or null.
    #[schema(required = true)]
    pub ends_at: Option<String>,
}

fn summary_row(r: &Row<'_>) -> rusqlite::Result<ProgramSummary> {
    Ok(ProgramSummary {
        id: r.get(0)?,
        name: r.get(1)?,
        destination_url: r.get(2)?,
        deep_link_allowed_domains: r.get(3)?,
        starts_at: r.get(4)?,
        ends_at: r.get(5)?,
    })
}

/// A new program row.
#[derive(Debug, Clone)]
pub struct NewProgram<'a> {
    /// Program id.
    pub id: &'a str,
    /// Name.
    pub name: &'a str,
    /// Stored rules ([`rules::rules_stored`]).
    pub commission_rule: &'a str,
    /// Attribution window in days.
    pub attribution_window_days: i64,
    /// Attribution model wire name.
    pub attribution_model: &'a str,
    /// Destination URL.
    pub destination_url: &'a str,
    /// Deep-link hosts.
    pub deep_link_allowed_domains: Option<&'a str>,
    /// Holdback days.
    pub holdback_days: Option<i64>,
    /// Active period start (ISO).
    pub starts_at: Option<&'a str>,
    /// Active period end (ISO).
    pub ends_at: Option<&'a str>,
}

/// Inserts `p` into tenant `tenant_id` at `now` (created and updated).
pub fn insert(
    c: &Connection,
    tenant_id: &str,
    p: &NewProgram<'_>,
    now: &str,
) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO programs (id, tenant_id, name, commission_rule, attribution_window_days,
            attribution_model, destination_url, deep_link_allowed_domains, holdback_days,
            starts_at, ends_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
        params![
            p.id,
            tenant_id,
            p.name,
            p.commission_rule,
            p.attribution_window_days,
            p.attribution_model,
            p.destination_url,
            p.deep_link_allowed_domains,
            p.holdback_days,
            p.starts_at,
            p.ends_at,
            now
        ],
    )?;
    Ok(())
}

/// Changes of a `PATCH`: `None` = unchanged; for nullable columns `Some(None)` = null.
#[derive(Debug, Clone, Default)]
pub struct ProgramChanges {
    /// New name.
    pub name: Option<String>,
    /// New stored rules.
    pub commission_rule: Option<String>,
    /// New destination.
    pub destination_url: Option<String>,
    /// New window.
    pub attribution_window_days: Option<i64>,
    /// New model wire name.
    pub attribution_model: Option<&'static str>,
    /// New deep-link hosts.
    pub deep_link_allowed_domains: Option<Option<String>>,
    /// New holdback.
    pub holdback_days: Option<Option<i64>>,
    /// New period start.
    pub starts_at: Option<Option<String>>,
    /// New period end.
    pub ends_at: Option<Option<String>>,
}

/// Applies `ch` to program `id` (and sets `updated_at` = `now`); the number of rows
/// changed (0 when there is no such program).
pub fn update(
    c: &Connection,
    tenant_id: &str,
    id: &str,
    ch: ProgramChanges,
    now: &str,
) -> rusqlite::Result<usize> {
    let text = |s: String| SqlValue::Text(s);
    let opt_text = |o: Option<String>| o.map_or(SqlValue::Null, SqlValue::Text);
    let mut sets: Vec<(&str, SqlValue)> = Vec::new();
    if let Some(v) = ch.name {
        sets.push(("name", text(v)));
    }
    if let Some(v) = ch.commission_rule {
        sets.push(("commission_rule", text(v)));
    }
    if let Some(v) = ch.destination_url {
        sets.push(("destination_url", text(v)));
    }
    if let Some(v) = ch.attribution_window_days {
        sets.push(("attribution_window_days", SqlValue::Integer(v)));
    }
    if let Some(v) = ch.attribution_model {
        sets.push(("attribution_model", text(v.to_owned())));
    }
    if let Some(v) = ch.deep_link_allowed_domains {
        sets.push(("deep_link_allowed_domains", opt_text(v)));
    }
    if let Some(v) = ch.holdback_days {
        sets.push(("holdback_days", v.map_or(SqlValue::Null, SqlValue::Integer)));
    }
    if let Some(v) = ch.starts_at {
        sets.push(("starts_at", opt_text(v)));
    }
    if let Some(v) = ch.ends_at {
        sets.push(("ends_at", opt_text(v)));
    }
    sets.push(("updated_at", text(now.to_owned())));
    let assign: Vec<String> = sets
        .iter()
        .enumerate()
        .map(|(i, (col, _))| format!("{col} = ?{}", i + 3))
        .collect();
    let sql = format!(
        "UPDATE programs SET {} WHERE tenant_id = ?1 AND id = ?2",
        assign.join(", ")
    );
    let mut values = vec![text(tenant_id.to_owned()), text(id.to_owned())];
    values.extend(sets.into_iter().map(|(_, v)| v));
    c.exec(&sql, params_from_iter(values))
}

/// Program `id` of the tenant.
pub fn get(c: &Connection, tenant_id: &str, id: &str) -> rusqlite::Result<Option<Program>> {
    c.row(
        &format!("SELECT {COLS} FROM programs WHERE tenant_id = ?1 AND id = ?2"),
        params![tenant_id, id],
        from_row,
    )
    .optional()
}

/// Every program of the tenant, oldest first.
pub fn list(c: &Connection, tenant_id: &str) -> rusqlite::Result<Vec<Program>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLS} FROM programs WHERE tenant_id = ?1 ORDER BY created_at, id"
    ))?;
    let rows = st.query_map([tenant_id], from_row)?;
    rows.collect()
}

/// True when program `id` exists in the tenant.
pub fn exists(c: &Connection, tenant_id: &str, id: &str) -> rusqlite::Result<bool> {
    c.row(
        "SELECT EXISTS(SELECT 1 FROM programs WHERE tenant_id = ?1 AND id = ?2)",
        params![tenant_id, id],
        |r| r.get(0),
    )
}

/// What link creation checks of a program.
#[derive(Debug, Clone)]
pub struct LinkTerms {
    /// Comma-separated deep-link hosts, or none.
    pub deep_link_allowed_domains: Option<String>,
    /// Active period start (ISO).
    pub starts_at: Option<String>,
    /// Active period end (ISO).
    pub ends_at: Option<String>,
}

/// The [`LinkTerms`] of program `id`, `None` when there is no such program.
pub fn link_terms(
    c: &Connection,
    tenant_id: &str,
    id: &str,
) -> rusqlite::Result<Option<LinkTerms>> {
    c.row(
        "SELECT deep_link_allowed_domains, starts_at, ends_at FROM programs
         WHERE tenant_id = ?1 AND id = ?2",
        params![tenant_id, id],
        |r| {
            Ok(LinkTerms {
                deep_link_allowed_domains: r.get(0)?,
                starts_at: r.get(1)?,
                ends_at: r.get(2)?,
            })
        },
    )
    .optional()
}

/// Every program of the tenant as a summary, oldest first.
pub fn list_summaries(c: &Connection, tenant_id: &str) -> rusqlite::Result<Vec<ProgramSummary>> {
    let mut st = c.prepare_cached(
        "SELECT id, name, destination_url, deep_link_allowed_domains, starts_at, ends_at
         FROM programs WHERE tenant_id = ?1 ORDER BY created_at, id",
    )?;
    let rows = st.query_map([tenant_id], summary_row)?;
    rows.collect()
}

/// The programs granted to `partner_id` that are active at `now` (ISO), oldest first.
pub fn list_active_granted(
    c: &Connection,
    tenant_id: &str,
    partner_id: &str,
    now: &str,
) -> rusqlite::Result<Vec<ProgramSummary>> {
    let mut st = c.prepare_cached(
        "SELECT p.id, p.name, p.destination_url, p.deep_link_allowed_domains, p.starts_at, p.ends_at
         FROM programs p JOIN partner_programs g ON g.program_id = p.id
         WHERE p.tenant_id = ?1 AND g.partner_id = ?2
           AND (p.starts_at IS NULL OR p.starts_at <= ?3)
           AND (p.ends_at IS NULL OR p.ends_at > ?3)
         ORDER BY p.created_at, p.id",
    )?;
    let rows = st.query_map(params![tenant_id, partner_id, now], summary_row)?;
    rows.collect()
}

/// Every program id of `tenant_id`, oldest first (the grants of a partner created
/// without `programIds`).
pub fn ids(c: &Connection, tenant_id: &str) -> rusqlite::Result<Vec<String>> {
    let mut s =
        c.prepare_cached("SELECT id FROM programs WHERE tenant_id = ?1 ORDER BY created_at, id")?;
    let rows = s.query_map([tenant_id], |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// True when the tenant has at least one program (the seed skips such tenants).
pub fn any(c: &Connection, tenant_id: &str) -> rusqlite::Result<bool> {
    c.row(
        "SELECT EXISTS(SELECT 1 FROM programs WHERE tenant_id = ?1)",
        [tenant_id],
        |r| r.get(0),
    )
}
