//! Clicks (API.md §3.3): the click router `GET /r/{linkKey}`, `POST /clicks`, and fraud
//! review (`GET /admin/clicks/flagged`, `POST /clicks/{id}/flag|unflag`).
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

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::attribution::{self, Emit};
use crate::auth::{Auth, ClientIp, Scope};
use crate::error::{ApiError, ApiResult, ErrorBody, Validation};
use crate::extract::{Json, Query};
use crate::respond::{self, Reply};
use crate::routes::common::required_field;
use crate::state::AppState;
use crate::store::clicks::{self as store, FlaggedClick, NewClick};
use crate::store::links;
use crate::tenancy::Tenant;
use crate::util::{fmt_ts, parse_ts};

/// Lifetime of the `_cref` cookie the router sets (90 days).
pub const CREF_MAX_AGE_SECS: u32 = 7_776_000;

/// Authenticated routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(post_click))
        .routes(routes!(flagged))
        .routes(routes!(flag))
        .routes(routes!(unflag))
}

/// Tenant routes that never read credentials: the click router.
pub fn open_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(route))
}

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

/// What the router answers: the new click and where it redirects.
#[derive(Debug, Clone, Serialize)]
pub struct Routed {
    /// The new click id.
    pub click_id: String,
    /// The redirect target (with `cref`).
    pub location: String,
}

fn header_str(h: &HeaderMap, name: header::HeaderName, max: usize) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .map(|s| s.chars().take(max).collect())
}

/// The redirect of a router hit: 302, `Location`, and the `_cref` cookie.
fn redirect(routed: &Routed) -> ApiResult<Response> {
    // Stored URLs may hold non-ASCII characters: send those as the URL's percent-encoded
    // serialisation (ASCII ones byte for byte).
    let location = if routed.location.is_ascii() {
        HeaderValue::from_str(&routed.location).ok()
    } else {
        url::Url::parse(&routed.location)
            .ok()
            .and_then(|u| HeaderValue::from_str(u.as_str()).ok())
    }
    .ok_or_else(ApiError::internal)?;
    let mut resp = StatusCode::FOUND.into_response();
    let h = resp.headers_mut();
    h.insert(header::LOCATION, location);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "_cref={}; Path=/; Max-Age={CREF_MAX_AGE_SECS}; SameSite=Lax",
        routed.click_id
    )) {
        h.insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// The click router (no credential): records a click on the link and redirects to the
/// link's destination (else the program's) with `cref=<clickId>` appended to its query.
#[utoipa::path(get, path = "/r/{linkKey}", operation_id = "routeClick", tag = "clicks", security(()),
    params(("linkKey" = String, Path, description = "The link's key (3–64 of [A-Za-z0-9_-])")),
    responses(
        (status = 302, description = "Redirect to the destination; the click is recorded",
            headers(
                ("Location" = String, description = "The destination with `cref=<clickId>` in its query"),
                ("Set-Cookie" = String, description = "`_cref=<clickId>; Path=/; Max-Age=7776000; SameSite=Lax`"))),
        (status = 404, description = "link_not_found", body = ErrorBody)))]
async fn route(
    State(state): State<AppState>,
    tenant: Tenant,
    ip: Option<Extension<ClientIp>>,
    headers: HeaderMap,
    Path(link_key): Path<String>,
) -> ApiResult<Response> {
    let ip_hash = ip.map(|Extension(ClientIp(a))| crate::util::sha256_hex(a.to_string()));
    let user_agent = header_str(&headers, header::USER_AGENT, 2048);
    let referer = header_str(&headers, header::REFERER, 4096);
    let now = state.now_iso();
    let reply = respond::ok(&state, move |c| {
        let target = links::click_target(c, &tenant.id, &link_key)?
            .ok_or_else(|| ApiError::not_found_code("link_not_found"))?;
        let dest = target
            .link_destination
            .or(target.program_destination)
            .unwrap_or_else(|| "/".to_owned());
        let click_id = crate::util::new_id();
        let location = with_cref(&dest, &click_id);
        store::insert(
            c,
            &tenant.id,
            &NewClick {
                id: &click_id,
                link_id: &target.link_id,
                link_key: &link_key,
                partner_id: &target.partner_id,
                program_id: &target.program_id,
                landing_url: &location,
                ip_hash: ip_hash.as_deref(),
                user_agent: user_agent.as_deref(),
                referer: referer.as_deref(),
                fraud_flag: target.partner_revoked.then_some("revoked"),
                ts: &now,
            },
            &now,
        )?;
        Ok(Routed { click_id, location })
    })
    .await?;
    match reply {
        Reply::Value(_, routed) => redirect(&routed),
        other => Ok(other.into_response()),
    }
}

/// `POST /clicks` body: a click recorded by the caller's own router. `null` on an
/// optional field = absent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", expecting = "a JSON object")]
pub struct ClickBody {
    /// The caller's click id, 20–40 characters, unique (required).
    #[schema(required = true, min_length = 20, max_length = 40)]
    pub id: Option<String>,
    /// Key of an existing link of the tenant, 1–64 characters (required).
    #[schema(required = true, min_length = 1, max_length = 64)]
    pub link_key: Option<String>,
    /// Where the visitor landed, 1–4096 characters (required).
    #[schema(required = true, min_length = 1, max_length = 4096)]
    pub landing_url: Option<String>,
    /// Hash of the client address, at most 256 characters.
    #[schema(max_length = 256)]
    pub ip_hash: Option<String>,
    /// `User-Agent`, at most 2048 characters.
    #[schema(max_length = 2048)]
    pub user_agent: Option<String>,
    /// `Referer`, at most 4096 characters.
    #[schema(max_length = 4096)]
    pub referer: Option<String>,
    /// `velocity` | `manual` | `revoked`, or null.
    #[schema(pattern = "^(velocity|manual|revoked)$")]
    pub fraud_flag: Option<String>,
    /// When the click happened, ISO-8601 (required).
    #[schema(required = true, format = DateTime)]
    pub ts: Option<String>,
}

/// `POST /clicks` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClickAck {
    /// Always true.
    pub ok: bool,
    /// The click id.
    pub id: String,
    /// `true` when the id was already recorded in this tenant (nothing written); absent
    /// for a new click.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replayed: Option<bool>,
}

/// A validated [`ClickBody`].
struct ClickInput {
    id: String,
    link_key: String,
    landing_url: String,
    ip_hash: Option<String>,
    user_agent: Option<String>,
    referer: Option<String>,
    fraud_flag: Option<String>,
    ts: String,
}

fn validate_click(b: ClickBody) -> ApiResult<ClickInput> {
    let mut v = Validation::new();
    let id = required_field(
        &mut v,
        "id",
        b.id,
        |s| (20..=40).contains(&s.chars().count()),
        "Expected a string of 20-40 characters",
    );
    let link_key = required_field(
        &mut v,
        "linkKey",
        b.link_key,
        |s| !s.is_empty() && s.chars().count() <= 64,
        "Expected a link key",
    );
    let landing_url = required_field(
        &mut v,
        "landingUrl",
        b.landing_url,
        |s| !s.is_empty() && s.chars().count() <= 4096,
        "Expected a non-empty string",
    );
    let ts = required_field(
        &mut v,
        "ts",
        b.ts,
        |s| parse_ts(s).is_some(),
        "Invalid datetime",
    );
    let ts = parse_ts(&ts).map(fmt_ts).unwrap_or_default();
    let mut at_most = |field: &str, given: Option<String>, max: usize| match given {
        Some(s) if s.chars().count() > max => {
            v.push(
                field,
                &format!("Expected a string of at most {max} characters"),
            );
            None
        }
        other => other,
    };
    let ip_hash = at_most("ipHash", b.ip_hash, 256);
    let user_agent = at_most("userAgent", b.user_agent, 2048);
    let referer = at_most("referer", b.referer, 4096);
    let fraud_flag = match b.fraud_flag {
        Some(f) if !matches!(f.as_str(), "velocity" | "manual" | "revoked") => {
            v.push(
                "fraudFlag",
                "Expected 'velocity' | 'manual' | 'revoked' | null",
            );
            None
        }
        other => other,
    };
    v.finish_body()?;
    Ok(ClickInput {
        id,
        link_key,
        landing_url,
        ip_hash,
        user_agent,
        referer,
        fraud_flag,
        ts,
    })
}

/// Records a click from the caller's own router (`clicks:write`). Re-posting an id of
/// this tenant answers 200 with `replayed: true` and writes nothing.
#[utoipa::path(post, path = "/clicks", operation_id = "postClick", tag = "clicks", request_body = ClickBody,
    responses((status = 201, description = "The click is recorded", body = ClickAck),
        (status = 200, description = "The id was already recorded (`replayed: true`)", body = ClickAck),
        (status = 404, description = "link_not_found", body = ErrorBody),
        (status = 409, description = "click_id_taken: the id belongs to another tenant", body = ErrorBody)))]
async fn post_click(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<ClickBody>,
) -> ApiResult<Reply<ClickAck>> {
    auth.require_scope(Scope::ClicksWrite)?;
    let k = validate_click(body)?;
    let now = state.now_iso();
    respond::respond_with_status(&state, move |c| {
        if let Some(owner) = store::tenant_of(c, &k.id)? {
            if owner != tenant.id {
                return Err(ApiError::conflict("click_id_taken"));
            }
            let ack = ClickAck {
                ok: true,
                id: k.id,
                replayed: Some(true),
            };
            return Ok((StatusCode::OK, ack));
        }
        let target = links::click_target(c, &tenant.id, &k.link_key)?
            .ok_or_else(|| ApiError::not_found_code("link_not_found"))?;
        let flag = k
            .fraud_flag
            .as_deref()
            .or(target.partner_revoked.then_some("revoked"));
        store::insert(
            c,
            &tenant.id,
            &NewClick {
                id: &k.id,
                link_id: &target.link_id,
                link_key: &k.link_key,
                partner_id: &target.partner_id,
                program_id: &target.program_id,
                landing_url: &k.landing_url,
                ip_hash: k.ip_hash.as_deref(),
                user_agent: k.user_agent.as_deref(),
                referer: k.referer.as_deref(),
                fraud_flag: flag,
                ts: &k.ts,
            },
            &now,
        )?;
        let ack = ClickAck {
            ok: true,
            id: k.id,
            replayed: None,
        };
        Ok((StatusCode::CREATED, ack))
    })
    .await
}

/// `GET /admin/clicks/flagged` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlaggedQuery {
    /// Most clicks to return, 1–500 (default 100).
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<i64>,
    /// Only clicks flagged `velocity` or `manual`; absent or empty = every flagged click.
    #[param(pattern = "^(velocity|manual)?$")]
    pub reason: Option<String>,
}

/// `{"clicks": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlaggedList {
    /// Flagged clicks, newest first.
    pub clicks: Vec<FlaggedClick>,
}

/// Flagged clicks for fraud review (admin).
#[utoipa::path(get, path = "/admin/clicks/flagged", operation_id = "listFlaggedClicks", tag = "clicks", params(FlaggedQuery),
    responses((status = 200, description = "Flagged clicks, newest first", body = FlaggedList)))]
async fn flagged(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Query(q): Query<FlaggedQuery>,
) -> ApiResult<Reply<FlaggedList>> {
    auth.require_admin()?;
    let limit = match q.limit {
        None => 100,
        Some(n) if (1..=500).contains(&n) => n,
        Some(_) => return Err(ApiError::query_field("limit", "must be between 1 and 500")),
    };
    let reason = match q.reason.filter(|r| !r.is_empty()) {
        None => None,
        Some(r) if r == "velocity" || r == "manual" => Some(r),
        Some(_) => {
            return Err(ApiError::query_field(
                "reason",
                "Expected 'velocity' | 'manual'",
            ))
        }
    };
    respond::ok(&state, move |c| {
        Ok(FlaggedList {
            clicks: store::list_flagged(c, &tenant.id, reason.as_deref(), limit)?,
        })
    })
    .await
}

/// The fraud flag of click `id` (`None`: not flagged). Errors: 404 `click_not_found`.
fn current_flag(c: &rusqlite::Connection, tenant_id: &str, id: &str) -> ApiResult<Option<String>> {
    store::flag_of(c, tenant_id, id)?.ok_or_else(|| ApiError::not_found_code("click_not_found"))
}

/// `POST /clicks/{id}/flag` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlagAck {
    /// Always true.
    pub ok: bool,
    /// The click.
    pub click_id: String,
}

/// Flags a click `manual` (admin); its commissions stop counting from the next run.
#[utoipa::path(post, path = "/clicks/{id}/flag", operation_id = "flagClick", tag = "clicks",
    params(("id" = String, Path, description = "Click id")),
    responses((status = 200, description = "The click is flagged", body = FlagAck),
        (status = 404, description = "click_not_found", body = ErrorBody),
        (status = 409, description = "already_flagged (with `flag`: the current flag)", body = ErrorBody)))]
async fn flag(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<FlagAck>> {
    auth.require_admin()?;
    respond::ok(&state, move |c| {
        let current = current_flag(c, &tenant.id, &id)?;
        if let Some(f) = current {
            return Err(ApiError::conflict("already_flagged").field("flag", f));
        }
        store::set_flag(c, &tenant.id, &id, Some("manual"))?;
        Ok(FlagAck {
            ok: true,
            click_id: id,
        })
    })
    .await
}

/// `POST /clicks/{id}/unflag` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnflagAck {
    /// Always true.
    pub ok: bool,
    /// The click.
    pub click_id: String,
    /// Events of the click's users whose re-run wrote at least one attribution.
    pub reattributed_events: usize,
}

/// Clears a click's flag (admin) and re-attributes the affected users' events in the
/// same job (their webhook events are recorded with it).
#[utoipa::path(post, path = "/clicks/{id}/unflag", operation_id = "unflagClick", tag = "clicks",
    params(("id" = String, Path, description = "Click id")),
    responses((status = 200, description = "The flag is cleared and events re-attributed", body = UnflagAck),
        (status = 404, description = "click_not_found", body = ErrorBody),
        (status = 409, description = "not_flagged", body = ErrorBody)))]
async fn unflag(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<UnflagAck>> {
    auth.require_admin()?;
    let now = state.clock.now();
    respond::ok(&state, move |c| {
        let current = current_flag(c, &tenant.id, &id)?;
        if current.is_none() {
            return Err(ApiError::conflict("not_flagged"));
        }
        store::set_flag(c, &tenant.id, &id, None)?;
        let (count, runs) = attribution::reattribute_click_users(c, &tenant.id, &id, now)?;
        let emits: Vec<Emit> = runs.into_iter().flat_map(|r| r.emits).collect();
        for e in &emits {
            crate::outbox::emit(c, &tenant.id, e.event_type, e.data.clone(), &fmt_ts(now))?;
        }
        Ok(UnflagAck {
            ok: true,
            click_id: id,
            reattributed_events: count,
        })
    })
    .await
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
