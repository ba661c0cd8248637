//! `GET /export/{Table}.{json|csv}` and `GET /export.json` (API.md §3.8), admin only.
//!
//! Rows come from [`crate::store::export::page`] (the API's camelCase shapes with every
//! column present). Tables (and `export.json`, table after table) are read in pages of
//! [`PAGE`] rows by rowid (insertion order), one database job per page with the database
//! released between pages, and streamed to the client, so a 1 000 000-row table neither
//! sits in memory nor blocks other requests for long. (Because the body is produced page
//! by page after the headers, these handlers stream instead of ending in one
//! `respond*` job; their only database access is the page read.)

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::export::CsvRows;
use crate::state::AppState;
use crate::store::export::{page, Table};
use crate::tenancy::Tenant;

/// Rows fetched per database round-trip while streaming.
pub const PAGE: i64 = 2000;

/// Splits `Table.fmt` into the table and whether CSV was asked for; unknown table → 404
/// `table_not_exportable` (detail lists the tables), another format → 400
/// `unsupported_format`.
pub fn parse_target(target: &str) -> ApiResult<(Table, bool)> {
    let (name, fmt) = target.rsplit_once('.').unwrap_or((target, ""));
    let Some(table) = Table::from_name(name) else {
        let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
        return Err(ApiError::not_found_code("table_not_exportable")
            .detail(format!("exportable tables: {}", names.join(", "))));
    };
    match fmt {
        "json" => Ok((table, false)),
        "csv" => Ok((table, true)),
        _ => Err(ApiError::bad_request("unsupported_format").detail("use .json or .csv")),
    }
}

/// Routes of this module (admin only).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(h_all))
        .routes(routes!(h_table))
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
    table: Table,
    after: i64,
) -> Result<(Vec<Map<String, Value>>, i64), std::io::Error> {
    let tenant = tenant.to_owned();
    st.db
        .call(move |c| Ok(page(c, &tenant, table, after, PAGE)?))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
}

struct StreamState {
    st: AppState,
    tenant: String,
    table: Table,
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

/// `GET /export/{target}`: one table as a JSON array of rows or as CSV (API.md §3.8),
/// streamed, with `Content-Disposition: attachment; filename="<Table>.<fmt>"`.
#[utoipa::path(get, path = "/export/{target}", tag = "export",
    params(("target" = String, Path,
        description = "`<Table>.<json|csv>`; Table is one of Partner, Program, PartnerProgram, \
            Link, Click, Identity, Event, Attribution, Commission, Payout",
        pattern = r"^[A-Za-z]+\.[A-Za-z]+$", example = "Partner.csv")),
    responses(
        (status = 200, description = "The rows: a JSON array of objects (every column \
            present, absent values null), or CSV (header = keys in first-seen order, LF \
            between rows, no rows = empty body)",
            content(
                (Vec<Object> = "application/json"),
                (String = "text/csv"),
            )),
        (status = 400, description = "unsupported_format: the format is neither json nor csv",
            body = crate::error::ErrorBody),
        (status = 404, description = "table_not_exportable (detail lists the tables)",
            body = crate::error::ErrorBody),
    ))]
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
        (format!("{}.csv", table.name()), "text/csv; charset=utf-8")
    } else {
        (format!("{}.json", table.name()), "application/json")
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
    let Some(table) = Table::ALL.get(s.table).copied() else {
        s.done = true;
        out.extend_from_slice(b"}}");
        return Some((Ok(Bytes::from(out)), s));
    };
    if s.rows_in_table == 0 && s.after == 0 {
        if s.table > 0 {
            out.push(b',');
        }
        out.extend(format!("\"{}\":[", table.name()).into_bytes());
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

/// `GET /export.json`: every exportable table, `{exportedAt, schemaVersion: 2, tables:
/// {<Table>: [rows…]}}`, streamed table by table.
#[utoipa::path(get, path = "/export.json", tag = "export",
    responses(
        (status = 200, description = "`{exportedAt, schemaVersion: 2, tables: {Partner: [...], \
            Program: [...], ...}}` with the rows of GET /export/{Table}.json",
            content_type = "application/json", body = Object),
    ))]
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
