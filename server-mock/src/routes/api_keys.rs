//! API keys (API.md §3.7): admin keys, scoped keys, partner keys, listing and deletion,
//! with the \[EXT\] `allowedIps` allowlist.
//!
//! Keys are `op_` + 48 hex; only the first 8 chars (`prefix`) and the SHA-256 hex are
//! stored; the plaintext is returned once. `allowedIps` (extensions on) is validated with
//! `ipnet`, stored as given (trimmed), echoed on creation and in listings (`[]` when the
//! key is unrestricted). Deleting an already revoked key answers `{"ok":true}` again.
//! Creating a key for a revoked partner → 409 `partner_revoked` (it could never be used).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Principal, Revoked};
use crate::domain;
use crate::domain::api_keys::KeySpec;
use crate::error::{ApiError, ApiResult, ErrorBody, Validation};
use crate::extract::{Json, Query};
use crate::respond::{self, respond, Reply};
use crate::state::AppState;
use crate::store;
use crate::store::api_keys::KeyRow;
use crate::tenancy::Tenant;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_admin_key, list_scoped))
        .routes(routes!(create_scoped_key))
        .routes(routes!(delete_key))
        .routes(routes!(create_partner_key, list_partner_keys))
}

/// `POST /api-keys` and `POST /partners/{id}/api-keys` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateKey {
    /// Free-form label, at most 100 characters (trimmed; empty = none).
    #[schema(max_length = 100)]
    pub label: Option<String>,
    /// \[EXT\] addresses or CIDR ranges the key may be used from (IPv4/IPv6); omitted or
    /// empty = anywhere. Ignored with extensions off.
    #[schema(extensions(("x-extension" = json!(true))))]
    pub allowed_ips: Option<Vec<String>>,
}

/// `POST /api-keys/scoped` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateScopedKey {
    /// Free-form label, at most 100 characters (default `scoped`).
    #[schema(max_length = 100)]
    pub label: Option<String>,
    /// \[EXT\] addresses or CIDR ranges the key may be used from; omitted or empty =
    /// anywhere. Ignored with extensions off.
    #[schema(extensions(("x-extension" = json!(true))))]
    pub allowed_ips: Option<Vec<String>>,
    /// Scopes (each 3–64 characters, duplicates dropped), at least one, e.g.
    /// `events:write`.
    #[schema(min_items = 1)]
    pub scopes: Option<Vec<String>>,
}

/// A key just created (the plaintext is shown once).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    /// Key id.
    pub id: String,
    /// The key (`op_` + 48 hex); only its hash is stored.
    pub plaintext: String,
    /// Scoped keys: the scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// \[EXT\] the allowlist (`[]` when unrestricted); absent with extensions off.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(extensions(("x-extension" = json!(true))))]
    pub allowed_ips: Option<Vec<String>>,
}

/// A listed key (never its plaintext or hash).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListedKey {
    /// Key id.
    pub id: String,
    /// First 8 characters of the key.
    pub prefix: String,
    /// Label, `null` when none.
    pub label: Option<String>,
    /// Scoped keys: the scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Creation time (ISO 8601).
    pub created_at: String,
    /// Last use (refreshed at most once a minute), `null` when never used.
    pub last_used_at: Option<String>,
    /// Revocation time, `null` while valid.
    pub revoked_at: Option<String>,
    /// \[EXT\] the allowlist (`[]` when unrestricted); absent with extensions off.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(extensions(("x-extension" = json!(true))))]
    pub allowed_ips: Option<Vec<String>>,
}

impl ListedKey {
    fn new(k: KeyRow, with_scopes: bool, ext: bool) -> ListedKey {
        ListedKey {
            id: k.id,
            prefix: k.prefix,
            label: k.label,
            scopes: with_scopes.then_some(k.scopes),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            allowed_ips: ext.then_some(k.allowed_ips),
        }
    }
}

/// A key listing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyList {
    /// The keys, newest first.
    pub api_keys: Vec<ListedKey>,
}

/// Validates a label (≤ 100 chars) and the allowlist (extensions on); returns (label or
/// `None` when empty, allowlist).
fn validate_common(
    label: Option<String>,
    allowed_ips: Option<Vec<String>>,
    ext: bool,
    v: &mut Validation,
) -> (Option<String>, Option<Vec<String>>) {
    let label = domain::api_keys::validate_label(label, v);
    let ips = if ext {
        allowed_ips.map(|list| {
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
    (label, ips)
}

/// Mints the key `spec` (see [`domain::api_keys::create`]) and answers it (`allowedIps`
/// only with extensions on).
fn insert_key(
    c: &rusqlite::Connection,
    tenant_id: &str,
    spec: KeySpec,
    now: &str,
    ext: bool,
) -> ApiResult<CreatedKey> {
    let key = domain::api_keys::create(c, tenant_id, &spec, now)?;
    Ok(CreatedKey {
        id: key.id,
        plaintext: key.plaintext,
        scopes: spec.scopes,
        allowed_ips: ext.then(|| spec.ips.unwrap_or_default()),
    })
}

/// Creates an admin key (`partner_id` `None`) or a key of partner `partner_id` (404
/// `partner_not_found`, 409 `partner_revoked`) → 201.
async fn create_unscoped_key(
    state: AppState,
    tenant: Tenant,
    body: CreateKey,
    partner_id: Option<String>,
) -> ApiResult<Reply<CreatedKey>> {
    let ext = state.ext();
    let mut v = Validation::new();
    let (label, ips) = validate_common(body.label, body.allowed_ips, ext, &mut v);
    v.finish_body()?;
    let now = state.now_iso();
    respond(&state, StatusCode::CREATED, move |c| {
        if let Some(pid) = &partner_id {
            let p = store::partners::get(c, &tenant.id, pid)?
                .ok_or_else(|| ApiError::not_found_code("partner_not_found"))?;
            if p.revoked_at.is_some() {
                return Err(ApiError::conflict("partner_revoked"));
            }
        }
        let kind = if partner_id.is_some() {
            "partner"
        } else {
            "admin"
        };
        let spec = KeySpec {
            kind,
            partner_id,
            label,
            scopes: None,
            ips,
        };
        insert_key(c, &tenant.id, spec, &now, ext)
    })
    .await
}

/// Creates an admin key (admin only).
#[utoipa::path(post, path = "/api-keys", tag = "api-keys", request_body = CreateKey,
    responses((status = 201, description = "The key (plaintext shown once)", body = CreatedKey)))]
async fn create_admin_key(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<CreateKey>,
) -> ApiResult<Reply<CreatedKey>> {
    auth.require_admin()?;
    create_unscoped_key(state, tenant, body, None).await
}

/// Creates a scoped key (admin only).
#[utoipa::path(post, path = "/api-keys/scoped", tag = "api-keys", request_body = CreateScopedKey,
    responses((status = 201, description = "The key (plaintext shown once)", body = CreatedKey)))]
async fn create_scoped_key(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<CreateScopedKey>,
) -> ApiResult<Reply<CreatedKey>> {
    auth.require_admin()?;
    let ext = state.ext();
    let mut v = Validation::new();
    let (label, ips) = validate_common(body.label, body.allowed_ips, ext, &mut v);
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
        let spec = KeySpec {
            kind: "scoped",
            partner_id: None,
            label: Some(label),
            scopes: Some(scopes),
            ips,
        };
        insert_key(c, &tenant.id, spec, &now, ext)
    })
    .await
}

/// `GET /api-keys` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScopedKeysQuery {
    /// Only keys holding this scope.
    pub scope: Option<String>,
}

/// Lists the scoped keys, newest first (admin only).
#[utoipa::path(get, path = "/api-keys", tag = "api-keys", params(ScopedKeysQuery),
    responses((status = 200, description = "Scoped keys, newest first", body = KeyList)))]
async fn list_scoped(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Query(q): Query<ScopedKeysQuery>,
) -> ApiResult<Reply<KeyList>> {
    auth.require_admin()?;
    let scope = q.scope.filter(|s| !s.is_empty());
    let ext = state.ext();
    respond::ok(&state, move |c| {
        let keys = store::api_keys::list_scoped(c, &tenant.id)?;
        Ok(KeyList {
            api_keys: keys
                .into_iter()
                .filter(|k| scope.as_ref().is_none_or(|want| k.scopes.contains(want)))
                .map(|k| ListedKey::new(k, true, ext))
                .collect(),
        })
    })
    .await
}

/// Creates a key for a partner (admin, or the partner itself).
#[utoipa::path(post, path = "/partners/{id}/api-keys", tag = "api-keys", request_body = CreateKey,
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 201, description = "The key (plaintext shown once)", body = CreatedKey),
        (status = 404, description = "partner_not_found", body = ErrorBody),
        (status = 409, description = "partner_revoked", body = ErrorBody)))]
async fn create_partner_key(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<CreateKey>,
) -> ApiResult<Reply<CreatedKey>> {
    auth.require_admin_or_partner(&id)?;
    create_unscoped_key(state, tenant, body, Some(id)).await
}

/// Lists a partner's keys, newest first (admin, or the partner itself).
#[utoipa::path(get, path = "/partners/{id}/api-keys", tag = "api-keys",
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 200, description = "The partner's keys, newest first", body = KeyList),
        (status = 404, description = "partner_not_found", body = ErrorBody)))]
async fn list_partner_keys(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<KeyList>> {
    auth.require_admin_or_partner(&id)?;
    let ext = state.ext();
    respond::ok(&state, move |c| {
        store::partners::get(c, &tenant.id, &id)?
            .ok_or_else(|| ApiError::not_found_code("partner_not_found"))?;
        let keys = store::api_keys::list_for_partner(c, &tenant.id, &id)?;
        Ok(KeyList {
            api_keys: keys
                .into_iter()
                .map(|k| ListedKey::new(k, false, ext))
                .collect(),
        })
    })
    .await
}

/// Revokes a key at once, also for requests answered from the credential cache (admin,
/// or the partner owning it); deleting a revoked key answers `{"ok":true}` again.
#[utoipa::path(delete, path = "/api-keys/{key_id}", tag = "api-keys",
    params(("key_id" = String, Path, description = "Key id")),
    responses((status = 200, description = "Revoked", body = crate::wire::Ok),
        (status = 404, description = "not_found", body = ErrorBody)))]
async fn delete_key(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(key_id): Path<String>,
) -> ApiResult<Reply<crate::wire::Ok>> {
    let partner_id = match auth.require_authenticated()? {
        Principal::Admin(_) => None,
        Principal::Partner { partner_id, .. } => Some(partner_id.clone()),
        _ => return Err(ApiError::forbidden()),
    };
    let st = state.clone();
    respond::ok(&state, move |c| {
        let (owner, revoked_at) = store::api_keys::owner_and_revoked(c, &tenant.id, &key_id)?
            .ok_or_else(ApiError::not_found)?;
        if let Some(me) = &partner_id {
            if owner.as_deref() != Some(me.as_str()) {
                return Err(ApiError::forbidden());
            }
        }
        if revoked_at.is_none() {
            store::api_keys::revoke(c, &tenant.id, &key_id, &st.now_iso())?;
        }
        st.credentials.invalidate(&tenant.id, Revoked::Key(&key_id));
        Ok(crate::wire::Ok::TRUE)
    })
    .await
}
