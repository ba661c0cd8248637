//! Authentication (API.md §2): credential resolution, the [`Principal`], guards, and the
//! session / magic-link primitives.
//!
//! [`resolve_auth`] (route-group middleware, after tenant resolution) reads the credential
//! once per request and stores an [`Auth`] in the request extensions; handlers take
//! `auth: Auth` as an extractor and call a guard:
//! - [`Auth::require_admin`] — admins only;
//! - [`Auth::require_scope`] — admins, or scoped keys holding the scope (else 403
//!   `forbidden_scope` with `required`); partners → 403 `forbidden`;
//! - [`Auth::require_admin_or_partner`] — admins or that partner (others 403 `forbidden`);
//! - [`Auth::require_scope_or_partner`] — admin, scoped key with the scope, or that partner.
//!
//! Every guard first answers 401 `unauthorized` for no/invalid credentials and then, for
//! a key with an \[EXT\] IP allowlist used from another address, 403 `ip_not_allowed`
//! (after authentication, before role checks).

use crate::db::ConnExt;
use std::net::IpAddr;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use chrono::Duration;
use ipnet::IpNet;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::tenancy::Tenant;
use crate::util;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "op_session";

/// The scopes that routes grant (API.md §2). Scope strings themselves are free-form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `events:write`
    EventsWrite,
    /// `partners:write`
    PartnersWrite,
    /// `partners:read`
    PartnersRead,
    /// `links:write`
    LinksWrite,
    /// `commissions:read`
    CommissionsRead,
    /// `clicks:write`
    ClicksWrite,
    /// `webhooks:write`
    WebhooksWrite,
}

impl Scope {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::EventsWrite => "events:write",
            Scope::PartnersWrite => "partners:write",
            Scope::PartnersRead => "partners:read",
            Scope::LinksWrite => "links:write",
            Scope::CommissionsRead => "commissions:read",
            Scope::ClicksWrite => "clicks:write",
            Scope::WebhooksWrite => "webhooks:write",
        }
    }
}

/// Where an admin principal came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminSource {
    /// The bootstrap key (`ADMIN_API_KEY`).
    Env,
    /// A DB admin key.
    Key {
        /// Key id.
        key_id: String,
    },
    /// An admin session.
    Session {
        /// Session id.
        session_id: String,
        /// The admin.
        admin: AdminInfo,
    },
}

/// `{id, email, name}` of an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminInfo {
    /// Admin id.
    pub id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
}

/// How a partner authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerSource {
    /// A partner API key.
    Key(String),
    /// A partner session.
    Session(String),
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No credential at all.
    Anonymous,
    /// A credential that is malformed, unknown, revoked, expired, from another tenant, or
    /// belongs to a revoked admin/partner. Guards answer 401.
    Invalid,
    /// \[EXT\] the platform key (only `/platform/*`; 401 on tenant routes).
    Platform,
    /// An admin.
    Admin(AdminSource),
    /// A scoped key.
    Scoped {
        /// Key id.
        key_id: String,
        /// Scopes, insertion order.
        scopes: Vec<String>,
    },
    /// A partner.
    Partner {
        /// The partner id.
        partner_id: String,
        /// Key or session.
        source: PartnerSource,
    },
}

/// The resolved authentication of a request (request extension and extractor).
#[derive(Debug, Clone)]
pub struct Auth {
    /// The principal.
    pub principal: Principal,
    /// True when the key has an allowlist that does not contain the client address.
    pub ip_denied: bool,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            principal: Principal::Anonymous,
            ip_denied: false,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _s: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Auth>().cloned().unwrap_or_default())
    }
}

/// The client address (socket peer, or `X-Forwarded-For` via trusted proxies), inserted
/// by the outer middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl Auth {
    /// A stable id for the credential (rate limiting, idempotency), `None` when the request
    /// is not validly authenticated.
    pub fn credential_id(&self) -> Option<String> {
        match &self.principal {
            Principal::Anonymous | Principal::Invalid => None,
            Principal::Platform => Some("platform".into()),
            Principal::Admin(AdminSource::Env) => Some("env".into()),
            Principal::Admin(AdminSource::Key { key_id }) => Some(format!("key:{key_id}")),
            Principal::Admin(AdminSource::Session { session_id, .. }) => {
                Some(format!("session:{session_id}"))
            }
            Principal::Scoped { key_id, .. } => Some(format!("key:{key_id}")),
            Principal::Partner { source, .. } => Some(match source {
                PartnerSource::Key(k) => format!("key:{k}"),
                PartnerSource::Session(s) => format!("session:{s}"),
            }),
        }
    }

    /// 401 unless authenticated for a tenant route; 403 `ip_not_allowed` on an allowlist
    /// miss.
    pub fn require_authenticated(&self) -> ApiResult<&Principal> {
        match self.principal {
            Principal::Anonymous | Principal::Invalid | Principal::Platform => {
                Err(ApiError::unauthorized())
            }
            _ if self.ip_denied => Err(ApiError::forbidden_code("ip_not_allowed")),
            _ => Ok(&self.principal),
        }
    }

    /// Admins only.
    pub fn require_admin(&self) -> ApiResult<&AdminSource> {
        match self.require_authenticated()? {
            Principal::Admin(src) => Ok(src),
            _ => Err(ApiError::forbidden()),
        }
    }

    /// Admins, or scoped keys holding `scope`.
    pub fn require_scope(&self, scope: Scope) -> ApiResult<()> {
        match self.require_authenticated()? {
            Principal::Admin(_) => Ok(()),
            Principal::Scoped { scopes, .. } => {
                if scopes.iter().any(|s| s == scope.as_str()) {
                    Ok(())
                } else {
                    Err(ApiError::forbidden_code("forbidden_scope")
                        .field("required", scope.as_str()))
                }
            }
            _ => Err(ApiError::forbidden()),
        }
    }

    /// Admins, or the partner `partner_id` itself.
    pub fn require_admin_or_partner(&self, partner_id: &str) -> ApiResult<()> {
        match self.require_authenticated()? {
            Principal::Admin(_) => Ok(()),
            Principal::Partner { partner_id: p, .. } if p == partner_id => Ok(()),
            _ => Err(ApiError::forbidden()),
        }
    }

    /// Admins, scoped keys holding `scope`, or the partner `partner_id` itself.
    pub fn require_scope_or_partner(&self, scope: Scope, partner_id: &str) -> ApiResult<()> {
        match self.require_authenticated()? {
            Principal::Partner { partner_id: p, .. } if p == partner_id => Ok(()),
            Principal::Partner { .. } => Err(ApiError::forbidden()),
            _ => self.require_scope(scope),
        }
    }

    /// True for admin principals.
    pub fn is_admin(&self) -> bool {
        matches!(self.principal, Principal::Admin(_))
    }
}

/// Guard for `/platform/*` (routes in the public group, which do not run
/// [`resolve_auth`]): multi mode and `Authorization: Bearer <platform key>`, else 401
/// `unauthorized` (admin keys included). In single mode callers answer 404
/// `route_not_found` before calling this.
pub fn require_platform(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let ok = state.config.tenancy == crate::config::Tenancy::Multi
        && match (bearer(headers), &state.config.platform_key) {
            (Some(Ok(token)), Some(k)) => util::ct_eq(&token, k),
            _ => false,
        };
    if ok {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// Extracts the bearer token: `Some(Ok(token))`, `Some(Err(()))` for a present but
/// unusable `Authorization` header, `None` when absent.
fn bearer(headers: &HeaderMap) -> Option<Result<String, ()>> {
    let v = headers.get(header::AUTHORIZATION)?;
    let Ok(s) = v.to_str() else {
        return Some(Err(()));
    };
    let s = s.trim();
    let mut it = s.splitn(2, |c: char| c.is_ascii_whitespace());
    let scheme = it.next().unwrap_or("");
    let rest = it.next().unwrap_or("").trim_start();
    if !scheme.eq_ignore_ascii_case("bearer")
        || rest.is_empty()
        || rest.contains(char::is_whitespace)
    {
        return Some(Err(()));
    }
    Some(Ok(rest.to_owned()))
}

/// The `op_session` cookie value, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    for v in headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, val)) = part.trim().split_once('=') {
                if k.trim() == SESSION_COOKIE && !val.trim().is_empty() {
                    return Some(val.trim().to_owned());
                }
            }
        }
    }
    None
}

/// Route-group middleware: resolves the credential into an [`Auth`] extension.
pub async fn resolve_auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let tenant = req.extensions().get::<Tenant>().cloned();
    let ip = req.extensions().get::<ClientIp>().map(|c| c.0);
    let auth = match resolve(&state, &headers, tenant, ip).await {
        Ok(a) => a,
        Err(e) => return axum::response::IntoResponse::into_response(e),
    };
    req.extensions_mut().insert(auth);
    next.run(req).await
}

async fn resolve(
    state: &AppState,
    headers: &HeaderMap,
    tenant: Option<Tenant>,
    ip: Option<IpAddr>,
) -> ApiResult<Auth> {
    let invalid = Auth {
        principal: Principal::Invalid,
        ip_denied: false,
    };
    match bearer(headers) {
        Some(Err(())) => Ok(invalid),
        Some(Ok(token)) => {
            if let Some(k) = &state.config.admin_key {
                if util::ct_eq(&token, k) {
                    return Ok(Auth {
                        principal: Principal::Admin(AdminSource::Env),
                        ip_denied: false,
                    });
                }
            }
            if let Some(k) = &state.config.platform_key {
                if util::ct_eq(&token, k) {
                    return Ok(Auth {
                        principal: Principal::Platform,
                        ip_denied: false,
                    });
                }
            }
            let Some(tenant) = tenant else {
                return Ok(invalid);
            };
            if !token.starts_with("op_") {
                return Ok(invalid);
            }
            let now = state.now_iso();
            let ext = state.ext();
            state
                .db
                .call(move |c| resolve_key(c, &tenant, &token, &now, ip, ext))
                .await
        }
        None => {
            let Some(token) = session_cookie(headers) else {
                return Ok(Auth::default());
            };
            let Some(tenant) = tenant else {
                return Ok(invalid);
            };
            let now = state.now_iso();
            state
                .db
                .call(move |c| resolve_session(c, &tenant, &token, &now))
                .await
        }
    }
}

/// `lastUsedAt` of keys and sessions is refreshed at most once per
/// [`LAST_USED_GRANULARITY_SECS`]: a request within that time of the stored value leaves the
/// row untouched, so a burst of authenticated reads writes nothing (and costs no commit).
pub const LAST_USED_GRANULARITY_SECS: i64 = 60;

fn last_used_threshold(now: &str) -> String {
    util::parse_ts(now)
        .map(|t| util::fmt_ts(t - Duration::seconds(LAST_USED_GRANULARITY_SECS)))
        .unwrap_or_else(|| now.to_owned())
}

fn resolve_key(
    c: &Connection,
    tenant: &Tenant,
    token: &str,
    now: &str,
    ip: Option<IpAddr>,
    ext: bool,
) -> ApiResult<Auth> {
    let invalid = Auth {
        principal: Principal::Invalid,
        ip_denied: false,
    };
    let hash = util::sha256_hex(token);
    let mut stmt = c.prepare_cached(
        "SELECT id, key_hash, kind, partner_id, scopes, allowed_ips, revoked_at
         FROM api_keys WHERE tenant_id = ?1 AND prefix = ?2",
    )?;
    let rows: Vec<(
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    )> = stmt
        .query_map(params![tenant.id, util::key_prefix(token)], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    // compare every candidate in constant time (no early exit on the hash)
    let mut found = None;
    for row in rows {
        if util::ct_eq(&row.1, &hash) {
            found = Some(row);
        }
    }
    let Some((id, _, kind, partner_id, scopes, allowed_ips, revoked_at)) = found else {
        return Ok(invalid);
    };
    if revoked_at.is_some() {
        return Ok(invalid);
    }
    let principal = match kind.as_str() {
        "admin" => Principal::Admin(AdminSource::Key { key_id: id.clone() }),
        "scoped" => Principal::Scoped {
            key_id: id.clone(),
            scopes: scopes
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default(),
        },
        "partner" => {
            let Some(pid) = partner_id else {
                return Ok(invalid);
            };
            let revoked: Option<Option<String>> = c
                .query_row(
                    "SELECT revoked_at FROM partners WHERE id = ?1 AND tenant_id = ?2",
                    params![pid, tenant.id],
                    |r| r.get(0),
                )
                .optional()?;
            match revoked {
                Some(None) => {}
                _ => return Ok(invalid),
            }
            Principal::Partner {
                partner_id: pid,
                source: PartnerSource::Key(id.clone()),
            }
        }
        _ => return Ok(invalid),
    };
    c.exec(
        "UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2
         AND (last_used_at IS NULL OR last_used_at <= ?3)",
        params![now, id, last_used_threshold(now)],
    )?;
    let ip_denied = ext && !ip_allowed(allowed_ips.as_deref(), ip);
    Ok(Auth {
        principal,
        ip_denied,
    })
}

/// True when `allowed` (JSON array of CIDRs, or NULL/empty) admits `ip`.
/// IPv4-mapped IPv6 peers match as IPv4.
pub fn ip_allowed(allowed: Option<&str>, ip: Option<IpAddr>) -> bool {
    let Some(list) = allowed else { return true };
    let nets: Vec<String> = serde_json::from_str(list).unwrap_or_default();
    if nets.is_empty() {
        return true;
    }
    let Some(ip) = ip else { return false };
    let ip = ip.to_canonical();
    nets.iter()
        .filter_map(|n| crate::config::parse_ip_or_net(n).ok())
        .any(|n: IpNet| n.contains(&ip))
}

fn resolve_session(c: &Connection, tenant: &Tenant, token: &str, now: &str) -> ApiResult<Auth> {
    let invalid = Auth {
        principal: Principal::Invalid,
        ip_denied: false,
    };
    if !token.starts_with("ops_") {
        return Ok(invalid);
    }
    let hash = util::sha256_hex(token);
    let row: Option<(
        String,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
    )> = c
        .query_row(
            "SELECT id, admin_id, partner_id, expires_at, revoked_at FROM sessions
             WHERE token_hash = ?1 AND tenant_id = ?2",
            params![hash, tenant.id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((sid, admin_id, partner_id, expires_at, revoked_at)) = row else {
        return Ok(invalid);
    };
    if revoked_at.is_some() || expires_at.as_str() <= now {
        return Ok(invalid);
    }
    let principal = if let Some(aid) = admin_id {
        let admin: Option<(String, String, Option<String>)> = c
            .query_row(
                "SELECT email, name, revoked_at FROM admins WHERE id = ?1 AND tenant_id = ?2",
                params![aid, tenant.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match admin {
            Some((email, name, None)) => Principal::Admin(AdminSource::Session {
                session_id: sid.clone(),
                admin: AdminInfo {
                    id: aid,
                    email,
                    name,
                },
            }),
            _ => return Ok(invalid),
        }
    } else if let Some(pid) = partner_id {
        let revoked: Option<Option<String>> = c
            .query_row(
                "SELECT revoked_at FROM partners WHERE id = ?1 AND tenant_id = ?2",
                params![pid, tenant.id],
                |r| r.get(0),
            )
            .optional()?;
        match revoked {
            Some(None) => Principal::Partner {
                partner_id: pid,
                source: PartnerSource::Session(sid.clone()),
            },
            _ => return Ok(invalid),
        }
    } else {
        return Ok(invalid);
    };
    c.exec(
        "UPDATE sessions SET last_used_at = ?1 WHERE id = ?2
         AND (last_used_at IS NULL OR last_used_at <= ?3)",
        params![now, sid, last_used_threshold(now)],
    )?;
    Ok(Auth {
        principal,
        ip_denied: false,
    })
}

/// Who a magic link or session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An admin id.
    Admin(String),
    /// A partner id.
    Partner(String),
}

/// Creates a magic link (stores only the token's hash) and returns
/// `(plaintext token, expiresAt ISO)`.
pub fn create_magic_link(
    c: &Connection,
    tenant_id: &str,
    purpose: &str,
    subject: &Subject,
    state: &AppState,
) -> ApiResult<(String, String)> {
    let token = util::new_magic_token();
    let now = state.clock.now();
    let ttl = Duration::from_std(state.config.magic_link_ttl).unwrap_or(Duration::minutes(15));
    let expires = util::fmt_ts(now + ttl);
    let (admin_id, partner_id) = match subject {
        Subject::Admin(a) => (Some(a.as_str()), None),
        Subject::Partner(p) => (None, Some(p.as_str())),
    };
    c.exec(
        "INSERT INTO magic_links (id, tenant_id, token_hash, purpose, admin_id, partner_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            util::new_id(),
            tenant_id,
            util::sha256_hex(&token),
            purpose,
            admin_id,
            partner_id,
            util::fmt_ts(now),
            expires
        ],
    )?;
    Ok((token, expires))
}

/// Creates a session and returns its plaintext token.
pub fn create_session(
    c: &Connection,
    tenant_id: &str,
    subject: &Subject,
    state: &AppState,
) -> ApiResult<String> {
    let token = util::new_session_token();
    let now = state.clock.now();
    let ttl = Duration::from_std(state.config.session_ttl).unwrap_or(Duration::days(30));
    let (admin_id, partner_id) = match subject {
        Subject::Admin(a) => (Some(a.as_str()), None),
        Subject::Partner(p) => (None, Some(p.as_str())),
    };
    c.exec(
        "INSERT INTO sessions (id, tenant_id, token_hash, admin_id, partner_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            util::new_id(),
            tenant_id,
            util::sha256_hex(&token),
            admin_id,
            partner_id,
            util::fmt_ts(now),
            util::fmt_ts(now + ttl)
        ],
    )?;
    Ok(token)
}

/// The `Set-Cookie` value for a new session.
pub fn session_set_cookie(token: &str, state: &AppState) -> String {
    let max_age = state.config.session_ttl.as_secs();
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age}{secure}")
}

/// The `Set-Cookie` value that clears the session cookie.
pub fn session_clear_cookie(state: &AppState) -> String {
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}")
}
