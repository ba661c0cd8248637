//! Sessions and magic links: the `op_session` cookie, the session lookup (a cache miss),
//! creating sessions and magic links, and the `Set-Cookie` values.

use std::sync::atomic::AtomicI64;

use axum::http::{header, HeaderMap};
use chrono::Duration;
use rusqlite::Connection;

use super::cache::Entry;
use super::principal::{AdminSource, PartnerSource, Principal};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store;
use crate::util;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "op_session";

/// Who a magic link or session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An admin id.
    Admin(String),
    /// A partner id.
    Partner(String),
}

impl Subject {
    fn ids(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Subject::Admin(a) => (Some(a.as_str()), None),
            Subject::Partner(p) => (None, Some(p.as_str())),
        }
    }
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

/// Looks the session with token hash `hash` up in tenant `tenant_id` at `now` (a cache
/// miss): `None` for an unknown, revoked or expired session, or one of a revoked or
/// missing admin/partner; else the cache entry (with its expiry). Refreshes
/// `last_used_at` as [`super::touch_last_used`] describes.
pub fn lookup(c: &Connection, tenant_id: &str, hash: &str, now: &str) -> ApiResult<Option<Entry>> {
    let Some(s) = store::sessions::find_by_hash(c, tenant_id, hash)? else {
        return Ok(None);
    };
    if s.revoked_at.is_some() || s.expires_at.as_str() <= now {
        return Ok(None);
    }
    let principal = if let Some(aid) = &s.admin_id {
        match store::admins::active_info(c, tenant_id, aid)? {
            Some(admin) => Principal::Admin(AdminSource::Session {
                session_id: s.id.clone(),
                admin,
            }),
            None => return Ok(None),
        }
    } else if let Some(pid) = &s.partner_id {
        if !store::partners::is_active(c, tenant_id, pid)? {
            return Ok(None);
        }
        Principal::Partner {
            partner_id: pid.clone(),
            source: PartnerSource::Session(s.id.clone()),
        }
    } else {
        return Ok(None);
    };
    let threshold = super::last_used_threshold(now);
    let touched = store::sessions::touch_last_used(c, &s.id, now, &threshold)?;
    Ok(Some(Entry {
        principal,
        last_used_secs: AtomicI64::new(super::known_last_used(
            touched,
            now,
            s.last_used_at.as_deref(),
        )),
        credential_id: s.id,
        partner_id: s.partner_id,
        admin_id: s.admin_id,
        allowed_ips: None,
        expires_at: Some(s.expires_at),
    }))
}

/// Creates a magic link (stores only the token's hash) and returns
/// `(plaintext token, expiresAt ISO)`. Errors: database errors.
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
    let (admin_id, partner_id) = subject.ids();
    store::magic_links::insert(
        c,
        tenant_id,
        &store::magic_links::NewMagicLink {
            id: &util::new_id(),
            token_hash: &util::sha256_hex(&token),
            purpose,
            admin_id,
            partner_id,
            created_at: &util::fmt_ts(now),
            expires_at: &expires,
        },
    )?;
    Ok((token, expires))
}

/// Creates a session for `token` (a fresh [`util::new_session_token`], made by the caller
/// so that it can set the cookie whatever the job answers); stores only its hash. Errors:
/// database errors.
pub fn create_session(
    c: &Connection,
    tenant_id: &str,
    subject: &Subject,
    token: &str,
    state: &AppState,
) -> ApiResult<()> {
    let now = state.clock.now();
    let ttl = Duration::from_std(state.config.session_ttl).unwrap_or(Duration::days(30));
    let (admin_id, partner_id) = subject.ids();
    store::sessions::insert(
        c,
        tenant_id,
        &store::sessions::NewSession {
            id: &util::new_id(),
            token_hash: &util::sha256_hex(token),
            admin_id,
            partner_id,
            created_at: &util::fmt_ts(now),
            expires_at: &util::fmt_ts(now + ttl),
        },
    )?;
    Ok(())
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
