//! Clicks (API.md §3.3): the click router `GET /r/{linkKey}`, `POST /clicks`, and fraud
//! review (`GET /admin/clicks/flagged`, `POST /clicks/:id/flag|unflag`).
//!
//! Choices where API.md is silent:
//! - the router stores `landingUrl` = the redirect target (with `cref`), `ipHash` = SHA-256
//!   hex of the client address, and the `User-Agent` / `Referer` headers;
//! - `POST /clicks` with an id that exists in *another* tenant → 409 `click_id_taken`;
//!   a click posted for a revoked partner's link without a flag is stored as `revoked`
//!   (like the router);
//! - `GET /admin/clicks/flagged` without `reason` lists every flagged click (velocity,
//!   manual and revoked), newest first;
//! - `reattributedEvents` counts the affected users' events whose re-run wrote at least
//!   one attribution.

use crate::db::ConnExt;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use crate::attribution::{self, Emit};
use crate::error::{ApiError, ApiResult, Validation};
use crate::util::{fmt_ts, parse_ts};

/// Appends `cref=<click_id>` to `dest`'s query (replacing any existing `cref`), before
/// the fragment. The rest of the query is kept byte for byte.
pub fn with_cref(dest: &str, click_id: &str) -> String {
    let (base, fragment) = match dest.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (dest, None),
    };
    let (path, query) = match base.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (base, None),
    };
    let mut parts: Vec<String> = query
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .filter(|s| s.split('=').next() != Some("cref"))
        .map(str::to_owned)
        .collect();
    let enc: String = url::form_urlencoded::byte_serialize(click_id.as_bytes()).collect();
    parts.push(format!("cref={enc}"));
    let mut out = format!("{path}?{}", parts.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// (link id, partner, program, link destination, program destination, partner revoked).
type RouterLink = (String, String, String, Option<String>, Option<String>, bool);

/// What the router needs to answer.
#[derive(Debug, Clone)]
pub struct Routed {
    /// The new click id.
    pub click_id: String,
    /// The redirect target (with `cref`).
    pub location: String,
}

/// Request facts of a router hit.
#[derive(Debug, Clone, Default)]
pub struct Hit {
    /// SHA-256 hex of the client address.
    pub ip_hash: Option<String>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// `Referer`.
    pub referer: Option<String>,
}

/// `GET /r/{linkKey}`: writes the click and returns the redirect; 404 `link_not_found`.
pub fn route_click(
    conn: &Connection,
    tenant: &str,
    link_key: &str,
    hit: &Hit,
    now: &str,
) -> ApiResult<Routed> {
    let link: Option<RouterLink> = conn
        .query_row(
            "SELECT l.id, l.partner_id, l.program_id, l.destination_url, p.destination_url,
                    COALESCE(pa.revoked_at IS NOT NULL, 0)
             FROM links l LEFT JOIN programs p ON p.id = l.program_id
             LEFT JOIN partners pa ON pa.id = l.partner_id
             WHERE l.tenant_id = ?1 AND l.link_key = ?2",
            params![tenant, link_key],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .optional()?;
    let Some((link_id, partner_id, program_id, link_dest, program_dest, revoked)) = link else {
        return Err(ApiError::not_found_code("link_not_found"));
    };
    let dest = link_dest.or(program_dest).unwrap_or_else(|| "/".to_owned());
    let click_id = crate::util::new_id();
    let location = with_cref(&dest, &click_id);
    conn.exec(
        "INSERT INTO clicks (id, tenant_id, link_id, link_key, partner_id, program_id, landing_url, ip_hash,
            user_agent, referer, fraud_flag, ts, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
        params![
            click_id,
            tenant,
            link_id,
            link_key,
            partner_id,
            program_id,
            location,
            hit.ip_hash,
            hit.user_agent,
            hit.referer,
            revoked.then_some("revoked"),
            now
        ],
    )?;
    Ok(Routed { click_id, location })
}

fn opt_str(v: &mut Validation, body: &Value, key: &str, max: usize) -> Option<String> {
    match body.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= max => Some(s.clone()),
        Some(_) => {
            v.push(
                key,
                &format!("Expected a string of at most {max} characters"),
            );
            None
        }
    }
}

/// `POST /clicks`: `(status, body)` — 201 new, 200 replayed.
pub fn post_click(
    conn: &mut Connection,
    tenant: &str,
    body: &Value,
    now: &str,
) -> ApiResult<(u16, Value)> {
    let mut v = Validation::new();
    if body.as_object().is_none() {
        v.push_form("Expected an object");
    }
    let id = required_str(
        &mut v,
        body,
        "id",
        |s| (20..=40).contains(&s.chars().count()),
        "Expected a string of 20-40 characters",
    );
    let link_key = required_str(
        &mut v,
        body,
        "linkKey",
        |s| !s.is_empty() && s.len() <= 64,
        "Expected a link key",
    );
    let landing = required_str(
        &mut v,
        body,
        "landingUrl",
        |s| !s.is_empty() && s.len() <= 4096,
        "Expected a non-empty string",
    );
    let ip_hash = opt_str(&mut v, body, "ipHash", 256);
    let user_agent = opt_str(&mut v, body, "userAgent", 2048);
    let referer = opt_str(&mut v, body, "referer", 4096);
    let flag = match body.get("fraudFlag") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if matches!(s.as_str(), "velocity" | "manual" | "revoked") => {
            Some(s.clone())
        }
        Some(_) => {
            v.push(
                "fraudFlag",
                "Expected 'velocity' | 'manual' | 'revoked' | null",
            );
            None
        }
    };
    let ts = match body.get("ts") {
        Some(Value::String(s)) => match parse_ts(s) {
            Some(t) => fmt_ts(t),
            None => {
                v.push("ts", "Invalid datetime");
                String::new()
            }
        },
        None => {
            v.push("ts", "Required");
            String::new()
        }
        Some(_) => {
            v.push("ts", "Expected an ISO-8601 datetime");
            String::new()
        }
    };
    v.finish_body()?;
    let tx = conn.savepoint()?;
    let existing: Option<String> = tx
        .query_row("SELECT tenant_id FROM clicks WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(t) = existing {
        if t == tenant {
            return Ok((200, json!({"ok": true, "id": id, "replayed": true})));
        }
        return Err(ApiError::conflict("click_id_taken"));
    }
    let link: Option<(String, String, String, bool)> = tx
        .query_row(
            "SELECT l.id, l.partner_id, l.program_id, COALESCE(pa.revoked_at IS NOT NULL, 0)
             FROM links l LEFT JOIN partners pa ON pa.id = l.partner_id
             WHERE l.tenant_id = ?1 AND l.link_key = ?2",
            params![tenant, link_key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((link_id, partner_id, program_id, revoked)) = link else {
        return Err(ApiError::not_found_code("link_not_found"));
    };
    let flag = flag.or_else(|| revoked.then(|| "revoked".to_owned()));
    tx.exec(
        "INSERT INTO clicks (id, tenant_id, link_id, link_key, partner_id, program_id, landing_url, ip_hash,
            user_agent, referer, fraud_flag, ts, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            id, tenant, link_id, link_key, partner_id, program_id, landing, ip_hash, user_agent, referer, flag, ts,
            now
        ],
    )?;
    tx.commit()?;
    Ok((201, json!({"ok": true, "id": id})))
}

/// `GET /admin/clicks/flagged`.
pub fn list_flagged(
    conn: &Connection,
    tenant: &str,
    reason: Option<&str>,
    limit: i64,
) -> ApiResult<Value> {
    let mut st = conn.prepare(
        "SELECT c.id, c.fraud_flag, c.ts, c.ip_hash, c.user_agent, c.referer, c.landing_url, c.partner_id,
                p.name, c.link_id, c.link_key
         FROM clicks c LEFT JOIN partners p ON p.id = c.partner_id
         WHERE c.tenant_id = ?1 AND c.fraud_flag IS NOT NULL AND (?2 IS NULL OR c.fraud_flag = ?2)
         ORDER BY c.ts DESC, c.id DESC LIMIT ?3",
    )?;
    let rows = st.query_map(params![tenant, reason, limit], |r| {
        Ok(json!({
            "id": r.get::<_, String>(0)?,
            "fraudFlag": r.get::<_, String>(1)?,
            "ts": r.get::<_, String>(2)?,
            "ipHash": r.get::<_, Option<String>>(3)?,
            "userAgent": r.get::<_, Option<String>>(4)?,
            "referer": r.get::<_, Option<String>>(5)?,
            "landingUrl": r.get::<_, Option<String>>(6)?,
            "partnerId": r.get::<_, String>(7)?,
            "partnerName": r.get::<_, Option<String>>(8)?,
            "linkId": r.get::<_, String>(9)?,
            "linkKey": r.get::<_, String>(10)?,
        }))
    })?;
    let clicks: Vec<Value> = rows.collect::<rusqlite::Result<_>>()?;
    Ok(json!({ "clicks": clicks }))
}

fn click_flag(conn: &Connection, tenant: &str, id: &str) -> ApiResult<Option<String>> {
    conn.row(
        "SELECT fraud_flag FROM clicks WHERE tenant_id = ?1 AND id = ?2",
        params![tenant, id],
        |r| r.get::<_, Option<String>>(0),
    )
    .optional()?
    .ok_or_else(|| ApiError::not_found_code("click_not_found"))
}

/// `POST /clicks/:id/flag`.
pub fn flag_click(conn: &Connection, tenant: &str, id: &str) -> ApiResult<Value> {
    if let Some(f) = click_flag(conn, tenant, id)? {
        return Err(ApiError::conflict("already_flagged").field("flag", f));
    }
    conn.exec(
        "UPDATE clicks SET fraud_flag = 'manual' WHERE tenant_id = ?1 AND id = ?2",
        params![tenant, id],
    )?;
    Ok(json!({"ok": true, "clickId": id}))
}

/// `POST /clicks/:id/unflag`: clears the flag and re-attributes the affected users' events.
/// The resulting webhook events are emitted in the same transaction.
pub fn unflag_click(
    conn: &mut Connection,
    tenant: &str,
    id: &str,
    now: DateTime<Utc>,
) -> ApiResult<Value> {
    let tx = conn.savepoint()?;
    if click_flag(&tx, tenant, id)?.is_none() {
        return Err(ApiError::conflict("not_flagged"));
    }
    tx.exec(
        "UPDATE clicks SET fraud_flag = NULL WHERE tenant_id = ?1 AND id = ?2",
        params![tenant, id],
    )?;
    let (count, runs) = attribution::reattribute_click_users(&tx, tenant, id, now)?;
    let emits: Vec<Emit> = runs.into_iter().flat_map(|r| r.emits).collect();
    for e in &emits {
        crate::outbox::emit(&tx, tenant, e.event_type, e.data.clone(), &fmt_ts(now))?;
    }
    tx.commit()?;
    Ok(json!({"ok": true, "clickId": id, "reattributedEvents": count}))
}

// ---------------------------------------------------------------------------------------
// HTTP handlers

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::auth::{Auth, ClientIp, Scope};
use crate::extract::{Json, QueryParams};
use crate::routes::common::{db_json, required_str};
use crate::state::AppState;
use crate::tenancy::Tenant;

/// Authenticated routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/clicks", post(h_post_click))
        .route("/admin/clicks/flagged", get(h_flagged))
        .route("/clicks/{id}/flag", post(h_flag))
        .route("/clicks/{id}/unflag", post(h_unflag))
}

/// Tenant routes that never read credentials: the click router.
pub fn open_router() -> Router<AppState> {
    Router::new().route("/r/{link_key}", get(h_route))
}

fn header_str(h: &HeaderMap, name: header::HeaderName, max: usize) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(max).collect())
}

async fn h_route(
    State(st): State<AppState>,
    tenant: Tenant,
    ip: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    Path(link_key): Path<String>,
) -> ApiResult<Response> {
    let hit = Hit {
        ip_hash: ip.map(|Extension(ClientIp(a))| crate::util::sha256_hex(a.to_string())),
        user_agent: header_str(&headers, header::USER_AGENT, 2048),
        referer: header_str(&headers, header::REFERER, 4096),
    };
    let now = st.now_iso();
    let routed = st
        .db
        .call(move |c| route_click(c, &tenant.id, &link_key, &hit, &now))
        .await?;
    let mut resp = StatusCode::FOUND.into_response();
    let h = resp.headers_mut();
    // Stored URLs may hold non-ASCII characters: send those as the URL's percent-encoded
    // serialisation (ASCII ones byte for byte).
    let location = if routed.location.is_ascii() {
        HeaderValue::from_str(&routed.location).map_err(|_| ())
    } else {
        url::Url::parse(&routed.location)
            .map_err(|_| ())
            .and_then(|u| HeaderValue::from_str(u.as_str()).map_err(|_| ()))
    };
    match location {
        Ok(v) => {
            h.insert(header::LOCATION, v);
        }
        Err(()) => return Err(ApiError::internal()),
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "_cref={}; Path=/; Max-Age=7776000; SameSite=Lax",
        routed.click_id
    )) {
        h.insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

async fn h_post_click(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<Value>,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_scope(Scope::ClicksWrite)?;
    let now = st.now_iso();
    crate::respond::respond_with_status(&st, move |c| {
        let (status, out) = post_click(c, &tenant.id, &body, &now)?;
        let code = if status == 201 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok((code, out))
    })
    .await
}

async fn h_flagged(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    q: QueryParams,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_admin()?;
    let limit = q.int_in("limit", 1, 500, 100)?;
    let reason = match q.string("reason") {
        None => None,
        Some(r) if r == "velocity" || r == "manual" => Some(r),
        Some(_) => {
            return Err(ApiError::query_field(
                "reason",
                "Expected 'velocity' | 'manual'",
            ))
        }
    };
    db_json(&st, move |c| {
        list_flagged(c, &tenant.id, reason.as_deref(), limit)
    })
    .await
}

async fn h_flag(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_admin()?;
    db_json(&st, move |c| flag_click(c, &tenant.id, &id)).await
}

async fn h_unflag(
    State(st): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_admin()?;
    let now = st.clock.now();
    db_json(&st, move |c| unflag_click(c, &tenant.id, &id, now)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cref_appended_and_replaced_before_fragment() {
        assert_eq!(with_cref("https://a.io/x", "C1"), "https://a.io/x?cref=C1");
        assert_eq!(
            with_cref("https://a.io/x?utm=1&b=a%20b", "C1"),
            "https://a.io/x?utm=1&b=a%20b&cref=C1"
        );
        assert_eq!(
            with_cref("https://a.io/x?cref=old&u=2#frag", "C1"),
            "https://a.io/x?u=2&cref=C1#frag"
        );
        assert_eq!(
            with_cref("https://a.io/#top", "C1"),
            "https://a.io/?cref=C1#top"
        );
        assert_eq!(with_cref("https://a.io/?", "C1"), "https://a.io/?cref=C1");
        assert_eq!(
            with_cref("https://a.io/?crefx=1", "C1"),
            "https://a.io/?crefx=1&cref=C1"
        );
    }
}
