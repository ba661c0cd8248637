//! `GET /export/{Table}.{json|csv}` and `GET /export.json` (API.md §3.8).
//!
//! Rows are the API's camelCase shapes with every column present (absent values are
//! `null`), money and weights as decimal strings, JSON columns (metadata, commission
//! rules) as objects/arrays. Tables (and `export.json`, table after table) are read in pages of [`PAGE`] rows by rowid (insertion
//! order) with the database lock released between pages, and streamed to the client, so a
//! 1 000 000-row table neither sits in memory nor blocks other requests for long.

use rusqlite::{params, Connection};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::routes::commissions::payout_row;

/// Rows fetched per database round-trip while streaming.
pub const PAGE: i64 = 2000;

/// The exportable tables, in `export.json` order.
pub const TABLES: &[&str] = &[
    "Partner",
    "Program",
    "PartnerProgram",
    "Link",
    "Click",
    "Identity",
    "Event",
    "Attribution",
    "Commission",
    "Payout",
];

fn json_col(s: Option<String>) -> Value {
    s.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

type Mapper = fn(&rusqlite::Row<'_>) -> rusqlite::Result<Value>;

/// How a selected column becomes a JSON value.
#[derive(Clone, Copy)]
enum Col {
    /// `TEXT NOT NULL` → string.
    Str,
    /// Nullable `TEXT` → string or `null`.
    OptStr,
    /// `INTEGER NOT NULL` → number.
    Int,
    /// Nullable `INTEGER` → number or `null`.
    OptInt,
    /// JSON stored as text → object/array (`null` when absent or unparsable).
    Json,
}

/// How the rows of a table become JSON objects.
enum Shape {
    /// Column `i` of the select list becomes key `cols[i].0`, in order.
    Cols(&'static [(&'static str, Col)]),
    /// A mapper shared with the table's API route.
    Custom(Mapper),
}

/// Maps a row column by column, keys in `cols` order.
fn map_cols(r: &rusqlite::Row<'_>, cols: &[(&str, Col)]) -> rusqlite::Result<Value> {
    let mut m = Map::with_capacity(cols.len());
    for (i, (key, kind)) in cols.iter().enumerate() {
        let v = match kind {
            Col::Str => Value::from(r.get::<_, String>(i)?),
            Col::OptStr => r
                .get::<_, Option<String>>(i)?
                .map_or(Value::Null, Value::from),
            Col::Int => Value::from(r.get::<_, i64>(i)?),
            Col::OptInt => r.get::<_, Option<i64>>(i)?.map_or(Value::Null, Value::from),
            Col::Json => json_col(r.get(i)?),
        };
        m.insert((*key).to_owned(), v);
    }
    Ok(Value::Object(m))
}

/// `(select list + from, shape)` of a table; the query gets `WHERE tenant_id = ?1 AND
/// rowid > ?2 ORDER BY rowid LIMIT ?3` appended and must select `rowid` last.
fn table_sql(table: &str) -> Option<(&'static str, Shape)> {
    use Col::{Int, Json, OptInt, OptStr, Str};
    Some(match table {
        "Partner" => (
            "SELECT id, tenant_id, email, name, external_id, stripe_connect_account_id, metadata, created_at,
                    updated_at, activated_at, revoked_at, revoke_reason, rowid FROM partners",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("email", Str),
                ("name", Str),
                ("externalId", OptStr),
                ("stripeConnectAccountId", OptStr),
                ("metadata", Json),
                ("createdAt", Str),
                ("updatedAt", Str),
                ("activatedAt", OptStr),
                ("revokedAt", OptStr),
                ("revokeReason", OptStr),
            ]),
        ),
        "Program" => (
            "SELECT id, tenant_id, name, commission_rule, attribution_window_days, attribution_model,
                    destination_url, deep_link_allowed_domains, holdback_days, starts_at, ends_at, created_at,
                    rowid FROM programs",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("name", Str),
                ("commissionRule", Json),
                ("attributionWindowDays", Int),
                ("attributionModel", Str),
                ("destinationUrl", Str),
                ("deepLinkAllowedDomains", OptStr),
                ("holdbackDays", OptInt),
                ("startsAt", OptStr),
                ("endsAt", OptStr),
                ("createdAt", Str),
            ]),
        ),
        "PartnerProgram" => (
            "SELECT id, tenant_id, partner_id, program_id, grant_source, granted_at, rowid FROM partner_programs",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("partnerId", Str),
                ("programId", Str),
                ("grantSource", Str),
                ("grantedAt", Str),
            ]),
        ),
        "Link" => (
            "SELECT id, tenant_id, link_key, partner_id, program_id, destination_url, created_at, rowid FROM links",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("linkKey", Str),
                ("partnerId", Str),
                ("programId", Str),
                ("destinationUrl", OptStr),
                ("createdAt", Str),
            ]),
        ),
        "Click" => (
            "SELECT id, tenant_id, link_id, link_key, partner_id, program_id, landing_url, ip_hash, user_agent,
                    referer, fraud_flag, ts, created_at, rowid FROM clicks",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("linkId", Str),
                ("linkKey", Str),
                ("partnerId", Str),
                ("programId", Str),
                ("landingUrl", OptStr),
                ("ipHash", OptStr),
                ("userAgent", OptStr),
                ("referer", OptStr),
                ("fraudFlag", OptStr),
                ("ts", Str),
                ("createdAt", Str),
            ]),
        ),
        "Identity" => (
            "SELECT id, tenant_id, click_id, user_id, created_at, rowid FROM identities",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("clickId", Str),
                ("userId", Str),
                ("createdAt", Str),
            ]),
        ),
        "Event" => (
            "SELECT id, tenant_id, user_id, type, value, currency, metadata, ts, created_at, rowid FROM events",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("userId", Str),
                ("type", Str),
                ("value", Str),
                ("currency", Str),
                ("metadata", Json),
                ("ts", Str),
                ("createdAt", Str),
            ]),
        ),
        "Attribution" => (
            "SELECT id, tenant_id, event_id, partner_id, program_id, click_id, model, weight, created_at, rowid
             FROM attributions",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("eventId", Str),
                ("partnerId", Str),
                ("programId", Str),
                ("clickId", Str),
                ("model", Str),
                ("weight", Str),
                ("createdAt", Str),
            ]),
        ),
        "Commission" => (
            "SELECT id, tenant_id, attribution_id, partner_id, program_id, amount, currency, status, holdback_days,
                    accrued_at, mature_at, paid_at, payout_id, rowid FROM commissions",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("attributionId", Str),
                ("partnerId", Str),
                ("programId", OptStr),
                ("amount", Str),
                ("currency", Str),
                ("status", Str),
                ("holdbackDays", OptInt),
                ("accruedAt", Str),
                ("matureAt", OptStr),
                ("paidAt", OptStr),
                ("payoutId", OptStr),
            ]),
        ),
        "Payout" => (
            "SELECT id, tenant_id, partner_id, amount, currency, method, status, run_id, commission_count,
                    created_at, completed_at, rowid FROM payouts",
            Shape::Custom(payout_row),
        ),
        _ => return None,
    })
}

/// True when `table` is exportable.
pub fn is_table(table: &str) -> bool {
    table_sql(table).is_some()
}

/// Splits `Table.fmt`; 404 `table_not_exportable` / 400 `unsupported_format`.
pub fn parse_target(target: &str) -> ApiResult<(&'static str, bool)> {
    let (table, fmt) = target.rsplit_once('.').unwrap_or((target, ""));
    let Some(t) = TABLES.iter().find(|t| **t == table) else {
        return Err(ApiError::not_found_code("table_not_exportable")
            .detail(format!("exportable tables: {}", TABLES.join(", "))));
    };
    match fmt {
        "json" => Ok((t, false)),
        "csv" => Ok((t, true)),
        _ => Err(ApiError::bad_request("unsupported_format").detail("use .json or .csv")),
    }
}

/// One page of a table after `after_rowid`: `(rows, last rowid)`.
pub fn page(
    conn: &Connection,
    tenant: &str,
    table: &str,
    after_rowid: i64,
    limit: i64,
) -> ApiResult<(Vec<Map<String, Value>>, i64)> {
    let Some((sql, shape)) = table_sql(table) else {
        return Err(ApiError::not_found_code("table_not_exportable"));
    };
    // `+tenant_id` keeps SQLite off the tenant indexes: the rowid range scan is what makes
    // every page cost the same (with an index on tenant_id it would re-sort the whole table).
    let full = format!("{sql} WHERE +tenant_id = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3");
    let mut st = conn.prepare_cached(&full)?;
    let mut rows = st.query(params![tenant, after_rowid, limit])?;
    let mut out = Vec::new();
    let mut last = after_rowid;
    while let Some(r) = rows.next()? {
        let n = r.as_ref().column_count();
        last = r.get(n - 1)?;
        let v = match &shape {
            Shape::Cols(cols) => map_cols(r, cols)?,
            Shape::Custom(map) => map(r)?,
        };
        out.push(obj(v));
    }
    Ok((out, last))
}

/// Every row of a table, in insertion order.
pub fn all_rows(conn: &Connection, tenant: &str, table: &str) -> ApiResult<Vec<Value>> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let (rows, last) = page(conn, tenant, table, after, 10_000)?;
        if rows.is_empty() {
            return Ok(out);
        }
        out.extend(rows.into_iter().map(Value::Object));
        after = last;
    }
}

// ---------------------------------------------------------------------------------------
// HTTP handlers

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::auth::Auth;
use crate::export::CsvRows;
use crate::state::AppState;
use crate::tenancy::Tenant;

/// Routes of this module (admin only).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/export.json", get(h_all))
        .route("/export/{target}", get(h_table))
}

fn attachment(resp: &mut Response, filename: &str, content_type: &'static str) {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
}

/// The page of `table` after rowid `after` for a streamed export; a database failure
/// becomes the I/O error that ends the response body.
async fn fetch_page(
    st: &AppState,
    tenant: &str,
    table: &'static str,
    after: i64,
) -> Result<(Vec<Map<String, Value>>, i64), std::io::Error> {
    let tenant = tenant.to_owned();
    st.db
        .call(move |c| page(c, &tenant, table, after, PAGE))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
}

struct StreamState {
    st: AppState,
    tenant: String,
    table: &'static str,
    csv: bool,
    after: i64,
    rows_sent: usize,
    csv_rows: CsvRows,
    done: bool,
}

async fn next_chunk(mut s: StreamState) -> Option<(Result<Bytes, std::io::Error>, StreamState)> {
    if s.done {
        return None;
    }
    let (rows, last) = match fetch_page(&s.st, &s.tenant, s.table, s.after).await {
        Ok(p) => p,
        Err(e) => {
            s.done = true;
            return Some((Err(e), s));
        }
    };
    let mut out = Vec::new();
    let short = (rows.len() as i64) < PAGE;
    for r in &rows {
        if s.csv {
            out.extend(s.csv_rows.row(r));
        } else {
            out.push(if s.rows_sent == 0 { b'[' } else { b',' });
            out.extend(serde_json::to_vec(r).unwrap_or_default());
        }
        s.rows_sent += 1;
    }
    s.after = last;
    if short {
        s.done = true;
        if !s.csv {
            if s.rows_sent == 0 {
                out.push(b'[');
            }
            out.push(b']');
        }
    }
    Some((Ok(Bytes::from(out)), s))
}

async fn h_table(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(target): Path<String>,
) -> ApiResult<Response> {
    auth.require_admin()?;
    let (table, csv) = parse_target(&target)?;
    let state = StreamState {
        st,
        tenant: tenant.id,
        table,
        csv,
        after: 0,
        rows_sent: 0,
        csv_rows: CsvRows::new(),
        done: false,
    };
    let stream = futures::stream::unfold(state, next_chunk);
    let mut resp = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let (name, ct) = if csv {
        (format!("{table}.csv"), "text/csv; charset=utf-8")
    } else {
        (format!("{table}.json"), "application/json")
    };
    attachment(&mut resp, &name, ct);
    Ok(resp)
}

struct AllState {
    st: AppState,
    tenant: String,
    table: usize,
    after: i64,
    rows_in_table: usize,
    started: bool,
    exported_at: String,
    done: bool,
}

/// `export.json` streamed table by table, page by page.
async fn next_all_chunk(mut s: AllState) -> Option<(Result<Bytes, std::io::Error>, AllState)> {
    if s.done {
        return None;
    }
    let mut out = Vec::new();
    if !s.started {
        s.started = true;
        out.extend(
            format!(
                "{{\"exportedAt\":{},\"schemaVersion\":2,\"tables\":{{",
                Value::String(s.exported_at.clone())
            )
            .into_bytes(),
        );
    }
    let Some(table) = TABLES.get(s.table).copied() else {
        s.done = true;
        out.extend_from_slice(b"}}");
        return Some((Ok(Bytes::from(out)), s));
    };
    if s.rows_in_table == 0 && s.after == 0 {
        if s.table > 0 {
            out.push(b',');
        }
        out.extend(format!("\"{table}\":[").into_bytes());
    }
    let (rows, last) = match fetch_page(&s.st, &s.tenant, table, s.after).await {
        Ok(p) => p,
        Err(e) => {
            s.done = true;
            return Some((Err(e), s));
        }
    };
    for r in &rows {
        if s.rows_in_table > 0 {
            out.push(b',');
        }
        out.extend(serde_json::to_vec(r).unwrap_or_default());
        s.rows_in_table += 1;
    }
    if (rows.len() as i64) < PAGE {
        out.push(b']');
        s.table += 1;
        s.after = 0;
        s.rows_in_table = 0;
    } else {
        s.after = last;
    }
    Some((Ok(Bytes::from(out)), s))
}

async fn h_all(State(st): State<AppState>, tenant: Tenant, auth: Auth) -> ApiResult<Response> {
    auth.require_admin()?;
    let state = AllState {
        exported_at: st.now_iso(),
        st,
        tenant: tenant.id,
        table: 0,
        after: 0,
        rows_in_table: 0,
        started: false,
        done: false,
    };
    let stream = futures::stream::unfold(state, next_all_chunk);
    let mut resp = (StatusCode::OK, Body::from_stream(stream)).into_response();
    attachment(&mut resp, "export.json", "application/json");
    Ok(resp)
}
