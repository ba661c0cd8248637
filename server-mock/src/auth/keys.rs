//! API-key credentials: bearer parsing, the key lookup (a cache miss) and the \[EXT\] IP
//! allowlist.

use std::net::IpAddr;
use std::sync::atomic::AtomicI64;

use axum::http::{header, HeaderMap};
use ipnet::IpNet;
use rusqlite::Connection;

use super::cache::Entry;
use super::principal::{AdminSource, PartnerSource, Principal};
use crate::error::ApiResult;
use crate::store;
use crate::util;

/// Extracts the bearer token: `Some(Ok(token))`, `Some(Err(()))` for a present but
/// unusable `Authorization` header, `None` when absent.
pub fn bearer(headers: &HeaderMap) -> Option<Result<String, ()>> {
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

/// Parses a stored allowlist (JSON array of CIDRs / addresses): `None` when unrestricted
/// (NULL or an empty list), else the networks that parse (a list whose entries all fail
/// to parse admits nobody).
pub fn allowlist(stored: Option<&str>) -> Option<Vec<IpNet>> {
    let nets: Vec<String> = serde_json::from_str(stored?).unwrap_or_default();
    if nets.is_empty() {
        return None;
    }
    Some(
        nets.iter()
            .filter_map(|n| crate::config::parse_ip_or_net(n).ok())
            .collect(),
    )
}

/// True when `allowed` (see [`allowlist`]) admits `ip`. IPv4-mapped IPv6 peers match as
/// IPv4; an unknown peer only passes an unrestricted key.
pub fn admits(allowed: Option<&[IpNet]>, ip: Option<IpAddr>) -> bool {
    let Some(nets) = allowed else { return true };
    let Some(ip) = ip else { return false };
    let ip = ip.to_canonical();
    nets.iter().any(|n| n.contains(&ip))
}

/// True when the stored allowlist `allowed` admits `ip` ([`allowlist`] + [`admits`]).
pub fn ip_allowed(allowed: Option<&str>, ip: Option<IpAddr>) -> bool {
    admits(allowlist(allowed).as_deref(), ip)
}

/// Looks key `token` (hash `hash`) up in tenant `tenant_id` at `now` (a cache miss):
/// `None` for an unknown or revoked key, a key of a revoked or missing partner, or a row
/// of an unknown kind; else the cache entry. Refreshes `last_used_at` as
/// [`super::touch_last_used`] describes.
pub fn lookup(
    c: &Connection,
    tenant_id: &str,
    token: &str,
    hash: &str,
    now: &str,
) -> ApiResult<Option<Entry>> {
    let rows = store::api_keys::find_by_prefix(c, tenant_id, &util::key_prefix(token))?;
    // compare every candidate in constant time (no early exit on the hash)
    let mut found = None;
    for row in rows {
        if util::ct_eq(&row.key_hash, hash) {
            found = Some(row);
        }
    }
    let Some(row) = found else { return Ok(None) };
    if row.revoked_at.is_some() {
        return Ok(None);
    }
    let principal = match row.kind.as_str() {
        "admin" => Principal::Admin(AdminSource::Key {
            key_id: row.id.clone(),
        }),
        "scoped" => Principal::Scoped {
            key_id: row.id.clone(),
            scopes: row
                .scopes
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default(),
        },
        "partner" => {
            let Some(pid) = row.partner_id.clone() else {
                return Ok(None);
            };
            if !store::partners::is_active(c, tenant_id, &pid)? {
                return Ok(None);
            }
            Principal::Partner {
                partner_id: pid,
                source: PartnerSource::Key(row.id.clone()),
            }
        }
        _ => return Ok(None),
    };
    let threshold = super::last_used_threshold(now);
    let touched = store::api_keys::touch_last_used(c, &row.id, now, &threshold)?;
    Ok(Some(Entry {
        principal,
        credential_id: row.id,
        partner_id: row.partner_id,
        admin_id: None,
        allowed_ips: allowlist(row.allowed_ips.as_deref()),
        expires_at: None,
        last_used_secs: AtomicI64::new(super::known_last_used(
            touched,
            now,
            row.last_used_at.as_deref(),
        )),
    }))
}
