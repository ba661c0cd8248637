//! API keys (API.md §3.7): admin keys, scoped keys, partner keys, listing and deletion,
//! with the \[EXT\] `allowedIps` allowlist.
//!
//! Keys are `op_` + 48 hex; only the first 8 chars (`prefix`) and the SHA-256 hex are
//! stored; the plaintext is returned once. `allowedIps` (extensions on) is validated with
//! `ipnet`, stored as given (trimmed), echoed on creation and in listings (`[]` when the
//! key is unrestricted). Deleting an already revoked key answers `{"ok":true}` again.
//! Creating a key for a revoked partner → 409 `partner_revoked` (it could never be used).

use crate::db::ConnExt;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::{Auth, Principal};
use crate::error::{ApiError, ApiResult, Validation};
use crate::extract::{Json, QueryParams};
use crate::respond::{respond, Reply};
use crate::routes::partners::load_partner;
use crate::state::AppState;
use crate::tenancy::Tenant;
use crate::util;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api-keys", post(create_admin_key).get(list_scoped))
        .route("/api-keys/scoped", post(create_scoped_key))
        .route("/api-keys/{key_id}", delete(delete_key))
        .route(
            "/partners/{id}/api-keys",
            post(create_partner_key).get(list_partner_keys),
        )
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct KeyBody {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    allowed_ips: Option<Vec<String>>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

/// Validates a label (≤ 100 chars) and the allowlist; returns (label, allowed_ips JSON).
fn validate_common(
    body: &KeyBody,
    ext: bool,
    v: &mut Validation,
) -> (Option<String>, Option<Vec<String>>) {
    let label = body.label.as_ref().map(|l| l.trim().to_owned());
    if let Some(l) = &label {
        if l.chars().count() > 100 {
            v.push("label", "must be at most 100 characters");
        }
    }
    let ips = if ext {
        body.allowed_ips.as_ref().map(|list| {
            let mut out = Vec::new();
            for (i, raw) in list.iter().enumerate() {
                let t = raw.trim();
                match crate::config::parse_ip_or_net(t) {
                    Ok(_) => out.push(t.to_owned()),
                    Err(e) => v.push(&format!("allowedIps.{i}"), &e),
                }
            }
            out
        })
    } else {
        None
    };
    (label.filter(|l| !l.is_empty()), ips)
}

struct NewKey<'a> {
    tenant_id: &'a str,
    kind: &'a str,
    partner_id: Option<&'a str>,
    label: Option<&'a str>,
    scopes: Option<&'a [String]>,
    allowed_ips: Option<&'a [String]>,
    now: &'a str,
}

/// Inserts a key; returns (id, plaintext).
fn insert_key(c: &Connection, k: NewKey<'_>) -> ApiResult<(String, String)> {
    let id = util::new_id();
    let plaintext = util::new_api_key();
    let scopes = k.scopes.map(|s| json!(s).to_string());
    let ips = k
        .allowed_ips
        .filter(|l| !l.is_empty())
        .map(|l| json!(l).to_string());
    c.exec(
        "INSERT INTO api_keys (id, tenant_id, kind, partner_id, prefix, key_hash, label, scopes, allowed_ips, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id,
            k.tenant_id,
            k.kind,
            k.partner_id,
            util::key_prefix(&plaintext),
            util::sha256_hex(&plaintext),
            k.label,
            scopes,
            ips,
            k.now
        ],
    )?;
    Ok((id, plaintext))
}

/// 201 `{id, plaintext[, scopes][, allowedIps]}`: `scopes` for scoped keys, `allowedIps`
/// (`[]` when none) when the extensions are on.
fn created(
    id: String,
    plaintext: String,
    scopes: Option<Vec<String>>,
    ext: bool,
    ips: Option<Vec<String>>,
) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert("plaintext".into(), json!(plaintext));
    if let Some(scopes) = scopes {
        m.insert("scopes".into(), json!(scopes));
    }
    if ext {
        m.insert("allowedIps".into(), json!(ips.unwrap_or_default()));
    }
    Value::Object(m)
}

async fn create_admin_key(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<KeyBody>,
) -> ApiResult<Reply<Value>> {
    auth.require_admin()?;
    create_unscoped_key(state, tenant, body, None).await
}

/// Creates an admin key (`partner_id` `None`) or a key of partner `partner_id` (404
/// `partner_not_found`, 409 `partner_revoked`) from `body` → 201 (see [`created`]).
async fn create_unscoped_key(
    state: AppState,
    tenant: Tenant,
    body: KeyBody,
    partner_id: Option<String>,
) -> ApiResult<Reply<Value>> {
    let ext = state.ext();
    let mut v = Validation::new();
    let (label, ips) = validate_common(&body, ext, &mut v);
    v.finish_body()?;
    let now = state.now_iso();
    respond(&state, StatusCode::CREATED, move |c| {
        if let Some(pid) = &partner_id {
            let p = load_partner(c, &tenant.id, pid)?
                .ok_or_else(|| ApiError::not_found_code("partner_not_found"))?;
            if p.revoked_at.is_some() {
                return Err(ApiError::conflict("partner_revoked"));
            }
        }
        let (id, plaintext) = insert_key(
            c,
            NewKey {
                tenant_id: &tenant.id,
                kind: if partner_id.is_some() {
                    "partner"
                } else {
                    "admin"
                },
                partner_id: partner_id.as_deref(),
                label: label.as_deref(),
                scopes: None,
                allowed_ips: ips.as_deref(),
                now: &now,
            },
        )?;
        Ok(created(id, plaintext, None, ext, ips))
    })
    .await
}

async fn create_scoped_key(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<KeyBody>,
) -> ApiResult<Reply<Value>> {
    auth.require_admin()?;
    let ext = state.ext();
    let mut v = Validation::new();
    let (label, ips) = validate_common(&body, ext, &mut v);
    let mut scopes: Vec<String> = Vec::new();
    match &body.scopes {
        None => v.push("scopes", "Required"),
        Some(list) if list.is_empty() => v.push("scopes", "must contain at least one scope"),
        Some(list) => {
            for (i, s) in list.iter().enumerate() {
                let s = s.trim();
                let n = s.chars().count();
                if !(3..=64).contains(&n) {
                    v.push(&format!("scopes.{i}"), "must be 3-64 characters");
                } else if !scopes.iter().any(|x| x == s) {
                    scopes.push(s.to_owned());
                }
            }
        }
    }
    v.finish_body()?;
    let label = label.unwrap_or_else(|| "scoped".to_owned());
    let now = state.now_iso();
    respond(&state, StatusCode::CREATED, move |c| {
        let (id, plaintext) = insert_key(
            c,
            NewKey {
                tenant_id: &tenant.id,
                kind: "scoped",
                partner_id: None,
                label: Some(&label),
                scopes: Some(&scopes),
                allowed_ips: ips.as_deref(),
                now: &now,
            },
        )?;
        Ok(created(id, plaintext, Some(scopes), ext, ips))
    })
    .await
}

fn key_json(r: &rusqlite::Row<'_>, with_scopes: bool, ext: bool) -> rusqlite::Result<Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(r.get::<_, String>("id")?));
    m.insert("prefix".into(), json!(r.get::<_, String>("prefix")?));
    m.insert("label".into(), json!(r.get::<_, Option<String>>("label")?));
    if with_scopes {
        let scopes: Vec<String> = r
            .get::<_, Option<String>>("scopes")?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        m.insert("scopes".into(), json!(scopes));
    }
    m.insert("createdAt".into(), json!(r.get::<_, String>("created_at")?));
    m.insert(
        "lastUsedAt".into(),
        json!(r.get::<_, Option<String>>("last_used_at")?),
    );
    m.insert(
        "revokedAt".into(),
        json!(r.get::<_, Option<String>>("revoked_at")?),
    );
    if ext {
        let ips: Vec<String> = r
            .get::<_, Option<String>>("allowed_ips")?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        m.insert("allowedIps".into(), json!(ips));
    }
    Ok(Value::Object(m))
}

async fn list_scoped(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    q: QueryParams,
) -> ApiResult<axum::Json<Value>> {
    auth.require_admin()?;
    let scope = q.string("scope");
    let ext = state.ext();
    let keys = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, prefix, label, scopes, created_at, last_used_at, revoked_at, allowed_ips
                 FROM api_keys WHERE tenant_id = ?1 AND kind = 'scoped'
                 ORDER BY created_at DESC, id DESC",
            )?;
            let rows = stmt
                .query_map([&tenant.id], |r| {
                    let scopes: Vec<String> = r
                        .get::<_, Option<String>>("scopes")?
                        .and_then(|s| serde_json::from_str(&s).ok())
                        .unwrap_or_default();
                    Ok((scopes, key_json(r, true, ext)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows
                .into_iter()
                .filter(|(s, _)| scope.as_ref().is_none_or(|want| s.contains(want)))
                .map(|(_, v)| v)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(axum::Json(json!({ "apiKeys": keys })))
}

async fn create_partner_key(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<KeyBody>,
) -> ApiResult<Reply<Value>> {
    auth.require_admin_or_partner(&id)?;
    create_unscoped_key(state, tenant, body, Some(id)).await
}

async fn list_partner_keys(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    auth.require_admin_or_partner(&id)?;
    let ext = state.ext();
    let keys = state
        .db
        .call(move |c| {
            load_partner(c, &tenant.id, &id)?
                .ok_or_else(|| ApiError::not_found_code("partner_not_found"))?;
            let mut stmt = c.prepare(
                "SELECT id, prefix, label, scopes, created_at, last_used_at, revoked_at, allowed_ips
                 FROM api_keys WHERE tenant_id = ?1 AND kind = 'partner' AND partner_id = ?2
                 ORDER BY created_at DESC, id DESC",
            )?;
            let rows = stmt
                .query_map(params![tenant.id, id], |r| key_json(r, false, ext))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    Ok(axum::Json(json!({ "apiKeys": keys })))
}

async fn delete_key(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(key_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let principal = auth.require_authenticated()?.clone();
    let partner_id = match &principal {
        Principal::Admin(_) => None,
        Principal::Partner { partner_id, .. } => Some(partner_id.clone()),
        _ => return Err(ApiError::forbidden()),
    };
    let now = state.now_iso();
    state
        .db
        .call(move |c| {
            let row: Option<(Option<String>, Option<String>)> = c
                .query_row(
                    "SELECT partner_id, revoked_at FROM api_keys WHERE tenant_id = ?1 AND id = ?2",
                    params![tenant.id, key_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((owner, revoked_at)) = row else {
                return Err(ApiError::not_found());
            };
            if let Some(me) = &partner_id {
                if owner.as_deref() != Some(me.as_str()) {
                    return Err(ApiError::forbidden());
                }
            }
            if revoked_at.is_none() {
                c.exec(
                    "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2",
                    params![now, key_id],
                )?;
            }
            Ok(())
        })
        .await?;
    Ok(axum::Json(json!({"ok": true})))
}
