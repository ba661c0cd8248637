//! Programs (API.md §3.2), program grants and per-partner commission snapshots (§3.1).
//!
//! Choices where API.md is silent:
//! - `name` is 1–200 characters; `destinationUrl` must be an absolute http(s) URL;
//! - `deepLinkAllowedDomains` is a string (comma-separated hosts) or null, stored as given;
//! - `startsAt`/`endsAt` are ISO timestamps or null; when both are set `endsAt` must be
//!   after `startsAt`;
//! - `grantToAllPartners: true` grants the new program to every existing partner of the
//!   tenant (grant source `all`);
//! - `GET /partners/:id/campaigns` lists every program of the tenant with `granted`
//!   true/false (grant fields null when not granted); `POST` answers `added` = the ids
//!   newly granted (valid ids already granted are not repeated); a missing partner is 404
//!   `not_found`;
//! - snapshot `commissionValue` keeps the decimal as given (`15` → `"15"`).

use crate::db::ConnExt;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};

use crate::engine::Model;
use crate::error::{ApiError, ApiResult, Validation};
use crate::rules::{self, decimal_of};
use crate::util::{fmt_ts, new_id, parse_ts};

const PROGRAM_COLS: &str =
    "id, tenant_id, name, commission_rule, attribution_window_days, attribution_model,
    destination_url, deep_link_allowed_domains, holdback_days, starts_at, ends_at, created_at";

/// The API row of a program, from a query selecting [`PROGRAM_COLS`].
fn program_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    let rule_text: String = r.get(3)?;
    Ok(json!({
        "id": r.get::<_, String>(0)?,
        "tenantId": r.get::<_, String>(1)?,
        "name": r.get::<_, String>(2)?,
        "commissionRule": rules::rules_json(&rules::rules_from_stored(&rule_text)),
        "attributionWindowDays": r.get::<_, i64>(4)?,
        "attributionModel": r.get::<_, String>(5)?,
        "destinationUrl": r.get::<_, String>(6)?,
        "deepLinkAllowedDomains": r.get::<_, Option<String>>(7)?,
        "holdbackDays": r.get::<_, Option<i64>>(8)?,
        "startsAt": r.get::<_, Option<String>>(9)?,
        "endsAt": r.get::<_, Option<String>>(10)?,
        "createdAt": r.get::<_, String>(11)?,
    }))
}

/// One program of the tenant as its API row.
pub fn get_program(conn: &Connection, tenant: &str, id: &str) -> ApiResult<Option<Value>> {
    Ok(conn
        .query_row(
            &format!("SELECT {PROGRAM_COLS} FROM programs WHERE tenant_id = ?1 AND id = ?2"),
            params![tenant, id],
            program_row,
        )
        .optional()?)
}

/// Every program of the tenant (oldest first).
pub fn list_programs(conn: &Connection, tenant: &str) -> ApiResult<Vec<Value>> {
    let mut st = conn.prepare(&format!(
        "SELECT {PROGRAM_COLS} FROM programs WHERE tenant_id = ?1 ORDER BY created_at, id"
    ))?;
    let rows = st.query_map([tenant], program_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// True for an absolute http(s) URL with a host.
pub fn is_http_url(s: &str) -> bool {
    url::Url::parse(s)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .unwrap_or(false)
}

/// Validated program fields; `None` = not given (PATCH), `Some(None)` = set to null.
#[derive(Debug, Default)]
struct ProgramInput {
    name: Option<String>,
    rules: Option<Vec<rules::RuleSpec>>,
    destination_url: Option<String>,
    window_days: Option<i64>,
    model: Option<Model>,
    deep_link: Option<Option<String>>,
    holdback: Option<Option<i64>>,
    starts_at: Option<Option<String>>,
    ends_at: Option<Option<String>>,
    grant_all: bool,
}

fn opt_ts(v: &mut Validation, o: &Map<String, Value>, key: &str) -> Option<Option<String>> {
    match o.get(key) {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => match parse_ts(s) {
            Some(t) => Some(Some(fmt_ts(t))),
            None => {
                v.push(key, "Invalid datetime");
                None
            }
        },
        Some(_) => {
            v.push(key, "Expected an ISO-8601 datetime or null");
            None
        }
    }
}

fn int_field(
    v: &mut Validation,
    o: &Map<String, Value>,
    key: &str,
    min: i64,
    max: i64,
) -> Option<Option<i64>> {
    match o.get(key) {
        None => None,
        Some(Value::Null) => Some(None),
        Some(x) => match x.as_i64() {
            Some(n) if (min..=max).contains(&n) => Some(Some(n)),
            _ => {
                v.push(key, &format!("Expected an integer between {min} and {max}"));
                None
            }
        },
    }
}

fn parse_program(body: &Value, create: bool) -> ApiResult<ProgramInput> {
    let mut v = Validation::new();
    let Some(o) = body.as_object() else {
        v.push_form("Expected an object");
        return Err(ApiError::invalid_body(v));
    };
    let mut p = ProgramInput::default();
    match o.get("name") {
        Some(Value::String(s)) if (1..=200).contains(&s.trim().chars().count()) => {
            p.name = Some(s.trim().to_owned());
        }
        None if !create => {}
        None => v.push("name", "Required"),
        Some(_) => v.push("name", "Expected a string of 1-200 characters"),
    }
    match o.get("commissionRule") {
        Some(r) => match rules::parse_rules(r) {
            Ok(x) => p.rules = Some(x),
            Err(errs) => {
                for e in errs {
                    v.push("commissionRule", &e);
                }
            }
        },
        None if !create => {}
        None => v.push("commissionRule", "Required"),
    }
    match o.get("destinationUrl") {
        Some(Value::String(s)) if is_http_url(s) => p.destination_url = Some(s.clone()),
        None if !create => {}
        None => v.push("destinationUrl", "Required"),
        Some(_) => v.push("destinationUrl", "Expected an absolute http(s) URL"),
    }
    match int_field(&mut v, o, "attributionWindowDays", 1, 365) {
        Some(None) => v.push(
            "attributionWindowDays",
            "Expected an integer between 1 and 365",
        ),
        Some(Some(n)) => p.window_days = Some(n),
        None => {}
    }
    match o.get("attributionModel") {
        None => {}
        Some(Value::String(s)) if Model::parse(s).is_some() => p.model = Model::parse(s),
        Some(_) => v.push(
            "attributionModel",
            "Expected 'last_click' | 'first_click' | 'linear' | 'position'",
        ),
    }
    match o.get("deepLinkAllowedDomains") {
        None => {}
        Some(Value::Null) => p.deep_link = Some(None),
        Some(Value::String(s)) if s.len() <= 2000 => {
            p.deep_link = Some(if s.trim().is_empty() {
                None
            } else {
                Some(s.clone())
            });
        }
        Some(_) => v.push(
            "deepLinkAllowedDomains",
            "Expected a comma-separated string of hosts or null",
        ),
    }
    p.holdback = int_field(&mut v, o, "holdbackDays", 0, 365);
    p.starts_at = opt_ts(&mut v, o, "startsAt");
    p.ends_at = opt_ts(&mut v, o, "endsAt");
    match o.get("grantToAllPartners") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => p.grant_all = *b,
        Some(_) => v.push("grantToAllPartners", "Expected a boolean"),
    }
    v.finish_body()?;
    Ok(p)
}

fn check_dates(starts: Option<&str>, ends: Option<&str>) -> ApiResult<()> {
    if let (Some(s), Some(e)) = (starts, ends) {
        if e <= s {
            return Err(ApiError::body_field("endsAt", "Must be after startsAt"));
        }
    }
    Ok(())
}

/// `POST /programs`: validates, inserts, optionally grants to every partner.
pub fn create_program(
    conn: &mut Connection,
    tenant: &str,
    body: &Value,
    now: &str,
) -> ApiResult<Value> {
    let p = parse_program(body, true)?;
    let starts = p.starts_at.clone().flatten();
    let ends = p.ends_at.clone().flatten();
    check_dates(starts.as_deref(), ends.as_deref())?;
    let id = new_id();
    let tx = conn.savepoint()?;
    tx.exec(
        "INSERT INTO programs (id, tenant_id, name, commission_rule, attribution_window_days, attribution_model,
            destination_url, deep_link_allowed_domains, holdback_days, starts_at, ends_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
        params![
            id,
            tenant,
            p.name,
            rules::rules_json(&p.rules.unwrap_or_default()).to_string(),
            p.window_days.unwrap_or(60),
            p.model.unwrap_or(Model::LastClick).as_str(),
            p.destination_url,
            p.deep_link.flatten(),
            p.holdback.flatten(),
            starts,
            ends,
            now
        ],
    )?;
    if p.grant_all {
        grant_all_partners(&tx, tenant, &id, now)?;
    }
    let row = get_program(&tx, tenant, &id)?.ok_or_else(ApiError::internal)?;
    tx.commit()?;
    Ok(row)
}

/// `PATCH /programs/:id`.
pub fn patch_program(
    conn: &mut Connection,
    tenant: &str,
    id: &str,
    body: &Value,
    now: &str,
) -> ApiResult<Value> {
    let p = parse_program(body, false)?;
    let tx = conn.savepoint()?;
    let cur: Option<(Option<String>, Option<String>)> = tx
        .query_row(
            "SELECT starts_at, ends_at FROM programs WHERE tenant_id = ?1 AND id = ?2",
            params![tenant, id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((cur_s, cur_e)) = cur else {
        return Err(ApiError::not_found());
    };
    let starts = p.starts_at.clone().unwrap_or(cur_s);
    let ends = p.ends_at.clone().unwrap_or(cur_e);
    check_dates(starts.as_deref(), ends.as_deref())?;
    let mut sets: Vec<(&str, rusqlite::types::Value)> = Vec::new();
    use rusqlite::types::Value as V;
    let opt_text = |o: Option<String>| o.map_or(V::Null, V::Text);
    if let Some(n) = p.name {
        sets.push(("name", V::Text(n)));
    }
    if let Some(r) = p.rules {
        sets.push((
            "commission_rule",
            V::Text(rules::rules_json(&r).to_string()),
        ));
    }
    if let Some(u) = p.destination_url {
        sets.push(("destination_url", V::Text(u)));
    }
    if let Some(w) = p.window_days {
        sets.push(("attribution_window_days", V::Integer(w)));
    }
    if let Some(m) = p.model {
        sets.push(("attribution_model", V::Text(m.as_str().into())));
    }
    if let Some(d) = p.deep_link {
        sets.push(("deep_link_allowed_domains", opt_text(d)));
    }
    if let Some(h) = p.holdback {
        sets.push(("holdback_days", h.map_or(V::Null, V::Integer)));
    }
    if p.starts_at.is_some() {
        sets.push(("starts_at", opt_text(starts)));
    }
    if p.ends_at.is_some() {
        sets.push(("ends_at", opt_text(ends)));
    }
    sets.push(("updated_at", V::Text(now.to_owned())));
    let assign: Vec<String> = sets
        .iter()
        .enumerate()
        .map(|(i, (c, _))| format!("{c} = ?{}", i + 3))
        .collect();
    let sql = format!(
        "UPDATE programs SET {} WHERE tenant_id = ?1 AND id = ?2",
        assign.join(", ")
    );
    let mut values: Vec<V> = vec![V::Text(tenant.into()), V::Text(id.into())];
    values.extend(sets.into_iter().map(|(_, v)| v));
    tx.exec(&sql, rusqlite::params_from_iter(values))?;
    if p.grant_all {
        grant_all_partners(&tx, tenant, id, now)?;
    }
    let row = get_program(&tx, tenant, id)?.ok_or_else(ApiError::not_found)?;
    tx.commit()?;
    Ok(row)
}

fn grant_all_partners(
    conn: &Connection,
    tenant: &str,
    program_id: &str,
    now: &str,
) -> ApiResult<()> {
    let partners: Vec<String> = {
        let mut st = conn.prepare("SELECT id FROM partners WHERE tenant_id = ?1")?;
        let rows = st.query_map([tenant], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for p in partners {
        insert_grant(conn, tenant, &p, program_id, "all", now)?;
    }
    Ok(())
}

/// Inserts a grant unless it exists; true when it was new.
pub fn insert_grant(
    conn: &Connection,
    tenant: &str,
    partner_id: &str,
    program_id: &str,
    source: &str,
    now: &str,
) -> ApiResult<bool> {
    let n = conn.exec(
        "INSERT OR IGNORE INTO partner_programs (id, tenant_id, partner_id, program_id, grant_source, granted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![format!("pc_{}", new_id()), tenant, partner_id, program_id, source, now],
    )?;
    Ok(n > 0)
}

/// True when the partner exists in the tenant.
pub fn partner_exists(conn: &Connection, tenant: &str, partner_id: &str) -> ApiResult<bool> {
    Ok(conn.row(
        "SELECT EXISTS(SELECT 1 FROM partners WHERE tenant_id = ?1 AND id = ?2)",
        params![tenant, partner_id],
        |r| r.get(0),
    )?)
}

/// `GET /me/programs`: a partner's granted, currently active programs; all for an admin.
pub fn me_programs(
    conn: &Connection,
    tenant: &str,
    partner: Option<&str>,
    now: &str,
) -> ApiResult<Value> {
    let map = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Value> {
        Ok(json!({
            "id": r.get::<_, String>(0)?,
            "name": r.get::<_, String>(1)?,
            "destinationUrl": r.get::<_, String>(2)?,
            "deepLinkAllowedDomains": r.get::<_, Option<String>>(3)?,
            "startsAt": r.get::<_, Option<String>>(4)?,
            "endsAt": r.get::<_, Option<String>>(5)?,
        }))
    };
    let rows: Vec<Value> = match partner {
        Some(pid) => {
            let mut st = conn.prepare(
                "SELECT p.id, p.name, p.destination_url, p.deep_link_allowed_domains, p.starts_at, p.ends_at
                 FROM programs p JOIN partner_programs g ON g.program_id = p.id
                 WHERE p.tenant_id = ?1 AND g.partner_id = ?2
                   AND (p.starts_at IS NULL OR p.starts_at <= ?3)
                   AND (p.ends_at IS NULL OR p.ends_at > ?3)
                 ORDER BY p.created_at, p.id",
            )?;
            let rows = st.query_map(params![tenant, pid, now], map)?;
            rows.collect::<rusqlite::Result<_>>()?
        }
        None => {
            let mut st = conn.prepare(
                "SELECT id, name, destination_url, deep_link_allowed_domains, starts_at, ends_at
                 FROM programs WHERE tenant_id = ?1 ORDER BY created_at, id",
            )?;
            let rows = st.query_map([tenant], map)?;
            rows.collect::<rusqlite::Result<_>>()?
        }
    };
    Ok(json!({ "programs": rows }))
}

/// `GET /partners/:id/campaigns`.
pub fn list_campaigns(conn: &Connection, tenant: &str, partner_id: &str) -> ApiResult<Value> {
    if !partner_exists(conn, tenant, partner_id)? {
        return Err(ApiError::not_found());
    }
    let mut st = conn.prepare(
        "SELECT p.id, p.name, p.destination_url, p.deep_link_allowed_domains, g.grant_source, g.granted_at
         FROM programs p LEFT JOIN partner_programs g ON g.program_id = p.id AND g.partner_id = ?2
         WHERE p.tenant_id = ?1 ORDER BY p.created_at, p.id",
    )?;
    let rows = st.query_map(params![tenant, partner_id], |r| {
        let source: Option<String> = r.get(4)?;
        Ok(json!({
            "id": r.get::<_, String>(0)?,
            "name": r.get::<_, String>(1)?,
            "destinationUrl": r.get::<_, String>(2)?,
            "deepLinkAllowedDomains": r.get::<_, Option<String>>(3)?,
            "granted": source.is_some(),
            "grantSource": source,
            "grantedAt": r.get::<_, Option<String>>(5)?,
        }))
    })?;
    let campaigns: Vec<Value> = rows.collect::<rusqlite::Result<_>>()?;
    Ok(json!({ "campaigns": campaigns }))
}

/// `POST /partners/:id/campaigns {programIds}`.
pub fn add_campaigns(
    conn: &mut Connection,
    tenant: &str,
    partner_id: &str,
    body: &Value,
    now: &str,
) -> ApiResult<Value> {
    let ids: Vec<String> = match body.get("programIds").and_then(Value::as_array) {
        Some(a) if a.iter().all(Value::is_string) && a.len() <= 1000 => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => {
            return Err(ApiError::body_field(
                "programIds",
                "Expected an array of program ids",
            ))
        }
    };
    let tx = conn.savepoint()?;
    if !partner_exists(&tx, tenant, partner_id)? {
        return Err(ApiError::not_found());
    }
    let mut valid = Vec::new();
    for id in &ids {
        let ok: bool = tx.row(
            "SELECT EXISTS(SELECT 1 FROM programs WHERE tenant_id = ?1 AND id = ?2)",
            params![tenant, id],
            |r| r.get(0),
        )?;
        if ok && !valid.contains(id) {
            valid.push(id.clone());
        }
    }
    if valid.is_empty() {
        return Err(ApiError::not_found_code("no_valid_campaigns"));
    }
    let mut added = Vec::new();
    for id in valid {
        if insert_grant(&tx, tenant, partner_id, &id, "manual", now)? {
            added.push(id);
        }
    }
    tx.commit()?;
    Ok(json!({ "added": added }))
}

/// `DELETE /partners/:id/programs/:programId`.
pub fn remove_grant(
    conn: &Connection,
    tenant: &str,
    partner_id: &str,
    program_id: &str,
) -> ApiResult<Value> {
    let n = conn.exec(
        "DELETE FROM partner_programs WHERE tenant_id = ?1 AND partner_id = ?2 AND program_id = ?3",
        params![tenant, partner_id, program_id],
    )?;
    if n == 0 {
        return Err(ApiError::not_found_code("grant_not_found"));
    }
    Ok(json!({"ok": true}))
}

fn snapshot_json(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    let rules_text: Option<String> = r.get(4)?;
    Ok(json!({
        "partnerId": r.get::<_, String>(0)?,
        "commissionType": r.get::<_, String>(1)?,
        "commissionValue": r.get::<_, String>(2)?,
        "recurring": r.get::<_, bool>(3)?,
        "commissionRules": rules_text.map(|t| rules::rules_json(&rules::rules_from_stored(&t))),
        "holdbackDays": r.get::<_, Option<i64>>(5)?,
        "source": r.get::<_, String>(6)?,
        "snapshottedAt": r.get::<_, String>(7)?,
    }))
}

/// `GET /partners/:id/commission-snapshot`.
pub fn get_snapshot(conn: &Connection, tenant: &str, partner_id: &str) -> ApiResult<Value> {
    if !partner_exists(conn, tenant, partner_id)? {
        return Err(ApiError::not_found_code("partner_not_found"));
    }
    let snap = conn
        .query_row(
            "SELECT partner_id, commission_type, commission_value, recurring, commission_rules, holdback_days, source, snapshotted_at
             FROM commission_snapshots WHERE tenant_id = ?1 AND partner_id = ?2",
            params![tenant, partner_id],
            snapshot_json,
        )
        .optional()?;
    Ok(json!({ "snapshot": snap }))
}

/// Validated snapshot body (also used by `POST /partners` `commissionSnapshot`).
#[derive(Debug, Clone)]
pub struct SnapshotInput {
    commission_type: &'static str,
    commission_value: String,
    recurring: bool,
    holdback_days: Option<i64>,
    rules: Option<Vec<rules::RuleSpec>>,
}

/// Validates a snapshot body; errors are reported under `prefix` + field name.
pub fn parse_snapshot(body: &Value, prefix: &str) -> ApiResult<SnapshotInput> {
    let mut v = Validation::new();
    let f = |k: &str| format!("{prefix}{k}");
    let Some(o) = body.as_object() else {
        v.push_form("Expected an object");
        return Err(ApiError::invalid_body(v));
    };
    let commission_type = match o.get("commissionType").and_then(Value::as_str) {
        Some("percent") => "percent",
        Some("fixed") => "fixed",
        None if o.get("commissionType").is_none() => {
            v.push(&f("commissionType"), "Required");
            "percent"
        }
        _ => {
            v.push(&f("commissionType"), "Expected 'percent' | 'fixed'");
            "percent"
        }
    };
    let commission_value = match o.get("commissionValue").map(|x| (x, decimal_of(x))) {
        Some((_, Some(d))) if !d.is_sign_negative() => d.to_string(),
        None => {
            v.push(&f("commissionValue"), "Required");
            String::new()
        }
        Some(_) => {
            v.push(&f("commissionValue"), "Expected a number >= 0");
            String::new()
        }
    };
    let recurring = match o.get("recurring") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            v.push(&f("recurring"), "Expected a boolean");
            false
        }
    };
    let holdback_days = match o.get("holdbackDays") {
        None | Some(Value::Null) => None,
        Some(x) => match x.as_i64() {
            Some(n) if (0..=365).contains(&n) => Some(n),
            _ => {
                v.push(
                    &f("holdbackDays"),
                    "Expected an integer between 0 and 365 or null",
                );
                None
            }
        },
    };
    let rules = match o.get("commissionRules") {
        None | Some(Value::Null) => None,
        Some(r @ Value::Array(_)) => match rules::parse_rules(r) {
            Ok(x) => Some(x),
            Err(errs) => {
                for e in errs {
                    v.push(&f("commissionRules"), &e);
                }
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
        recurring,
        holdback_days,
        rules,
    })
}

/// Writes (replaces) a partner's snapshot and returns `{"snapshot":{…}}`.
pub fn put_snapshot(
    conn: &Connection,
    tenant: &str,
    partner_id: &str,
    s: &SnapshotInput,
    now: &str,
) -> ApiResult<Value> {
    if !partner_exists(conn, tenant, partner_id)? {
        return Err(ApiError::not_found_code("partner_not_found"));
    }
    conn.exec(
        "INSERT INTO commission_snapshots (partner_id, tenant_id, commission_type, commission_value, recurring,
            commission_rules, holdback_days, source, snapshotted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'amendment', ?8)
         ON CONFLICT (partner_id) DO UPDATE SET commission_type = excluded.commission_type,
            commission_value = excluded.commission_value, recurring = excluded.recurring,
            commission_rules = excluded.commission_rules, holdback_days = excluded.holdback_days,
            source = excluded.source, snapshotted_at = excluded.snapshotted_at",
        params![
            partner_id,
            tenant,
            s.commission_type,
            s.commission_value,
            s.recurring,
            s.rules.as_ref().map(|r| rules::rules_json(r).to_string()),
            s.holdback_days,
            now
        ],
    )?;
    get_snapshot(conn, tenant, partner_id)
}

/// `DELETE /partners/:id/commission-snapshot`.
pub fn delete_snapshot(conn: &Connection, tenant: &str, partner_id: &str) -> ApiResult<Value> {
    if !partner_exists(conn, tenant, partner_id)? {
        return Err(ApiError::not_found_code("partner_not_found"));
    }
    conn.exec(
        "DELETE FROM commission_snapshots WHERE tenant_id = ?1 AND partner_id = ?2",
        params![tenant, partner_id],
    )?;
    Ok(json!({"ok": true}))
}

// ---------------------------------------------------------------------------------------
// HTTP handlers

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, patch};
use axum::Router;

use crate::auth::{Auth, Principal};
use crate::extract::Json;
use crate::routes::common::db_json;
use crate::state::AppState;
use crate::tenancy::Tenant;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/programs", get(h_list).post(h_create))
        .route("/programs/{id}", patch(h_patch))
        .route("/me/programs", get(h_me))
        .route(
            "/partners/{id}/campaigns",
            get(h_campaigns).post(h_add_campaigns),
        )
        .route(
            "/partners/{id}/programs/{program_id}",
            delete(h_remove_grant),
        )
        .route(
            "/partners/{id}/commission-snapshot",
            get(h_get_snapshot)
                .put(h_put_snapshot)
                .delete(h_delete_snapshot),
        )
}

type JsonOut = ApiResult<crate::respond::Reply<Value>>;

async fn h_list(State(st): State<AppState>, tenant: Tenant, auth: Auth) -> JsonOut {
    auth.require_admin()?;
    db_json(&st, move |c| {
        Ok(json!({ "programs": list_programs(c, &tenant.id)? }))
    })
    .await
}

async fn h_create(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<Value>,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_admin()?;
    let now = st.now_iso();
    crate::respond::respond(&st, StatusCode::CREATED, move |c| {
        create_program(c, &tenant.id, &body, &now)
    })
    .await
}

async fn h_patch(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> JsonOut {
    auth.require_admin()?;
    let now = st.now_iso();
    db_json(&st, move |c| patch_program(c, &tenant.id, &id, &body, &now)).await
}

async fn h_me(State(st): State<AppState>, tenant: Tenant, auth: Auth) -> JsonOut {
    let partner = match auth.require_authenticated()? {
        Principal::Admin(_) => None,
        Principal::Partner { partner_id, .. } => Some(partner_id.clone()),
        _ => return Err(ApiError::forbidden()),
    };
    let now = st.now_iso();
    db_json(&st, move |c| {
        me_programs(c, &tenant.id, partner.as_deref(), &now)
    })
    .await
}

async fn h_campaigns(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> JsonOut {
    auth.require_admin()?;
    db_json(&st, move |c| list_campaigns(c, &tenant.id, &id)).await
}

async fn h_add_campaigns(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_admin()?;
    let now = st.now_iso();
    crate::respond::respond(&st, StatusCode::CREATED, move |c| {
        add_campaigns(c, &tenant.id, &id, &body, &now)
    })
    .await
}

async fn h_remove_grant(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path((id, program_id)): Path<(String, String)>,
) -> JsonOut {
    auth.require_admin()?;
    db_json(&st, move |c| remove_grant(c, &tenant.id, &id, &program_id)).await
}

async fn h_get_snapshot(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> JsonOut {
    auth.require_admin_or_partner(&id)?;
    db_json(&st, move |c| get_snapshot(c, &tenant.id, &id)).await
}

async fn h_put_snapshot(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> JsonOut {
    auth.require_admin()?;
    let input = parse_snapshot(&body, "")?;
    let now = st.now_iso();
    db_json(&st, move |c| put_snapshot(c, &tenant.id, &id, &input, &now)).await
}

async fn h_delete_snapshot(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> JsonOut {
    auth.require_admin()?;
    db_json(&st, move |c| delete_snapshot(c, &tenant.id, &id)).await
}
