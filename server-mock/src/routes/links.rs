//! Tracking links (API.md §3.3): `GET/POST /partners/:id/links`.
//!
//! Check order of `POST` (API.md lists the errors, not their order): body validation
//! (400 `invalid_body`) → 404 `partner_not_found` → 404 `campaign_not_found` → 403
//! `campaign_not_granted` (partner principals only) → 409 `campaign_not_active` → 400
//! `destination_override_not_allowed` → 409 `linkKey_taken`.

use crate::db::ConnExt;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult, Validation};
use crate::routes::programs::{is_http_url, partner_exists};
use crate::util::new_id;

const LINK_COLS: &str =
    "id, tenant_id, link_key, partner_id, program_id, destination_url, created_at";

fn link_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    Ok(json!({
        "id": r.get::<_, String>(0)?,
        "tenantId": r.get::<_, String>(1)?,
        "linkKey": r.get::<_, String>(2)?,
        "partnerId": r.get::<_, String>(3)?,
        "programId": r.get::<_, String>(4)?,
        "destinationUrl": r.get::<_, Option<String>>(5)?,
        "createdAt": r.get::<_, String>(6)?,
    }))
}

/// True for a valid `linkKey`: 3–64 of `[A-Za-z0-9_-]`.
pub fn is_link_key(s: &str) -> bool {
    (3..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The deep-link rule: `host` equals an entry of the comma-separated `allowed` list or is
/// a subdomain of one (case-insensitive, spaces around commas ignored). A null or empty
/// list allows nothing.
pub fn host_allowed(host: &str, allowed: Option<&str>) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    allowed
        .unwrap_or("")
        .split(',')
        .map(|d| {
            d.trim()
                .trim_start_matches("*.")
                .trim_end_matches('.')
                .to_ascii_lowercase()
        })
        .filter(|d| !d.is_empty())
        .any(|d| host == d || host.ends_with(&format!(".{d}")))
}

/// `GET /partners/:id/links`: newest first.
pub fn list_links(conn: &Connection, tenant: &str, partner_id: &str) -> ApiResult<Value> {
    if !partner_exists(conn, tenant, partner_id)? {
        return Err(ApiError::not_found_code("partner_not_found"));
    }
    let mut st = conn.prepare(&format!(
        "SELECT {LINK_COLS} FROM links WHERE tenant_id = ?1 AND partner_id = ?2 ORDER BY created_at DESC, id DESC"
    ))?;
    let rows = st.query_map(params![tenant, partner_id], link_row)?;
    let links: Vec<Value> = rows.collect::<rusqlite::Result<_>>()?;
    Ok(json!({ "links": links }))
}

/// `POST /partners/:id/links`. `partner_principal` is true when the caller is the partner
/// itself (then a grant is required).
pub fn create_link(
    conn: &mut Connection,
    tenant: &str,
    partner_id: &str,
    body: &Value,
    partner_principal: bool,
    now: &str,
) -> ApiResult<Value> {
    let mut v = Validation::new();
    let link_key = required_str(
        &mut v,
        body,
        "linkKey",
        is_link_key,
        "Expected 3-64 characters of [A-Za-z0-9_-]",
    );
    let program_id = required_str(
        &mut v,
        body,
        "programId",
        |s| !s.is_empty(),
        "Expected a program id",
    );
    let destination = match body.get("destinationUrl") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if is_http_url(s) && s.len() <= 2048 => Some(s.clone()),
        Some(_) => {
            v.push("destinationUrl", "Expected an absolute http(s) URL");
            None
        }
    };
    if body.as_object().is_none() {
        v.push_form("Expected an object");
    }
    v.finish_body()?;
    let tx = conn.savepoint()?;
    if !partner_exists(&tx, tenant, partner_id)? {
        return Err(ApiError::not_found_code("partner_not_found"));
    }
    let program: Option<(Option<String>, Option<String>, Option<String>)> = tx
        .query_row(
            "SELECT deep_link_allowed_domains, starts_at, ends_at FROM programs WHERE tenant_id = ?1 AND id = ?2",
            params![tenant, program_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((allowed, starts, ends)) = program else {
        return Err(ApiError::not_found_code("campaign_not_found"));
    };
    if partner_principal {
        let granted: bool = tx.row(
            "SELECT EXISTS(SELECT 1 FROM partner_programs WHERE partner_id = ?1 AND program_id = ?2)",
            params![partner_id, program_id],
            |r| r.get(0),
        )?;
        if !granted {
            return Err(ApiError::forbidden_code("campaign_not_granted"));
        }
    }
    let before = starts.as_deref().is_some_and(|s| now < s);
    let after = ends.as_deref().is_some_and(|e| now >= e);
    if before || after {
        return Err(ApiError::conflict("campaign_not_active").detail(if before {
            "the program has not started yet"
        } else {
            "the program has ended"
        }));
    }
    if let Some(d) = &destination {
        let host = url::Url::parse(d)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        if !host_allowed(&host, allowed.as_deref()) {
            return Err(ApiError::bad_request("destination_override_not_allowed")
                .detail("the destination's host is not in the program's deepLinkAllowedDomains"));
        }
    }
    let taken: bool = tx.row(
        "SELECT EXISTS(SELECT 1 FROM links WHERE tenant_id = ?1 AND link_key = ?2)",
        params![tenant, link_key],
        |r| r.get(0),
    )?;
    if taken {
        return Err(ApiError::conflict("linkKey_taken"));
    }
    let id = new_id();
    tx.exec(
        "INSERT INTO links (id, tenant_id, link_key, partner_id, program_id, destination_url, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, tenant, link_key, partner_id, program_id, destination, now],
    )?;
    let row = tx.row(
        &format!("SELECT {LINK_COLS} FROM links WHERE id = ?1"),
        [&id],
        link_row,
    )?;
    tx.commit()?;
    Ok(row)
}

// ---------------------------------------------------------------------------------------
// HTTP handlers

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use crate::auth::{Auth, Principal, Scope};
use crate::extract::Json;
use crate::routes::common::{db_json, required_str};
use crate::state::AppState;
use crate::tenancy::Tenant;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/partners/{id}/links", get(h_list).post(h_create))
}

async fn h_list(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_admin_or_partner(&id)?;
    db_json(&st, move |c| list_links(c, &tenant.id, &id)).await
}

async fn h_create(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_scope_or_partner(Scope::LinksWrite, &id)?;
    let partner_principal = matches!(auth.principal, Principal::Partner { .. });
    let now = st.now_iso();
    crate::respond::respond(&st, StatusCode::CREATED, move |c| {
        create_link(c, &tenant.id, &id, &body, partner_principal, &now)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_link_domains() {
        let list = Some(" Example.com , shop.other.io");
        assert!(host_allowed("example.com", list));
        assert!(host_allowed("shop.example.com", list));
        assert!(host_allowed("SHOP.EXAMPLE.COM", list));
        assert!(host_allowed("shop.other.io", list));
        assert!(!host_allowed("other.io", list), "not the reverse");
        assert!(!host_allowed("badexample.com", list));
        assert!(!host_allowed("example.com.evil.io", list));
        assert!(!host_allowed("example.com", None));
        assert!(!host_allowed("example.com", Some("")));
    }

    #[test]
    fn link_keys() {
        assert!(is_link_key("abc"));
        assert!(is_link_key("A-b_9"));
        assert!(!is_link_key("ab"));
        assert!(!is_link_key(&"a".repeat(65)));
        assert!(!is_link_key("a b c"));
        assert!(!is_link_key("a/b/c"));
    }
}
