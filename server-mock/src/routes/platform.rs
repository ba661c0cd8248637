//! \[EXT\] Tenant provisioning for resellers (API.md §5): `/platform/*`, outside every
//! tenant, with the platform key only.
//!
//! - `POST /platform/tenants {slug, displayName, externalId?}` → 201 tenant; 409
//!   `slug_taken` / `external_id_taken`; 400 `invalid_body` for a malformed or reserved
//!   slug (the one list: [`crate::tenancy::RESERVED_SLUGS`]). The new tenant is cached at
//!   once, so `/t/<slug>/…` resolves on the next request.
//! - `GET /platform/tenants?limit(1–100, default 50)&offset(≥0)` →
//!   `{"tenants":[…],"total","limit","offset"}`, oldest first (created, then id), so pages
//!   stay stable while tenants are added.
//! - `GET /platform/tenants/by-external-id/{externalId}` → the tenant; 404 `not_found`.
//! - `POST /platform/tenants/{id}/api-keys {label?}` → 201 `{id, plaintext}`: an admin key
//!   of that tenant (the one minting path, [`crate::domain::api_keys`]).
//! - `POST /platform/tenants/{id}/login-links {email}` → 201 `{url, expiresAt}`: an
//!   `admin_signin` magic link (15 min, single use, not mailed); the admin is created and
//!   activated when the tenant has none with that email; 409 `admin_revoked`.
//!
//! Unknown tenant ids → 404 `not_found`. The routes exist only in multi mode with
//! extensions on (else every `/platform/*` path is 404 `route_not_found`, see
//! [`super::build_with`]); the guard ([`Auth::require_platform`]) answers 401 for any
//! other credential (admin keys included) and when no platform key is configured.
//! Idempotency-Keys work as on tenant routes, stored under the platform scope
//! ([`crate::idempotency`]); the api-keys and login-links answers carry secrets, so their
//! repeats answer 409 `idempotency_replay_unavailable`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::domain;
use crate::domain::api_keys::KeySpec;
use crate::domain::tenants::NewTenant;
use crate::error::{ApiResult, ErrorBody, Validation};
use crate::extract::{Json, Query};
use crate::idempotency::KeyedOutcome;
use crate::respond::{self, respond, Reply};
use crate::state::AppState;
use crate::store::tenants::TenantRow;
use crate::tenancy::is_valid_slug;
use crate::util::is_valid_email;
use crate::wire::query;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(tenant_by_external_id))
        .routes(routes!(create_admin_key))
        .routes(routes!(create_login_link))
}

/// `POST /platform/tenants` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateTenant {
    /// URL slug (`/t/<slug>`): `[a-z0-9-]+`, 1–63 characters, not a reserved slug
    /// (API.md §1), unique.
    #[schema(
        required = true,
        min_length = 1,
        max_length = 63,
        pattern = "^[a-z0-9-]+$",
        example = "acme"
    )]
    pub slug: Option<String>,
    /// Display name, 1–200 characters after trimming.
    #[schema(
        required = true,
        min_length = 1,
        max_length = 200,
        example = "Acme Inc."
    )]
    pub display_name: Option<String>,
    /// The reseller's own id for the tenant, 1–255 characters, unique.
    #[schema(min_length = 1, max_length = 255)]
    pub external_id: Option<String>,
}

/// A tenant.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantOut {
    /// Tenant id.
    pub id: String,
    /// URL slug (`/t/<slug>`).
    pub slug: String,
    /// Display name.
    pub display_name: String,
    /// The reseller's own id; absent when none was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Creation time (ISO 8601).
    pub created_at: String,
}

impl From<TenantRow> for TenantOut {
    fn from(t: TenantRow) -> TenantOut {
        TenantOut {
            id: t.id,
            slug: t.slug,
            display_name: t.display_name,
            external_id: t.external_id,
            created_at: t.created_at,
        }
    }
}

/// `GET /platform/tenants` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenantsQuery {
    /// Page size, 1–100 (default 50).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Tenants to skip, ≥ 0 (default 0).
    #[param(value_type = Option<i64>, minimum = 0)]
    pub offset: Option<String>,
}

/// `GET /platform/tenants` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantPage {
    /// The page, oldest first.
    pub tenants: Vec<TenantOut>,
    /// The number of tenants in all.
    pub total: i64,
    /// The page size asked for (echoed).
    pub limit: i64,
    /// The offset asked for (echoed).
    pub offset: i64,
}

/// `POST /platform/tenants/{id}/api-keys` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTenantKey {
    /// Free-form label, at most 100 characters (trimmed; empty = none).
    #[schema(max_length = 100)]
    pub label: Option<String>,
}

/// A tenant admin key just created (the plaintext is shown once; no `Debug`: it holds a
/// secret).
#[derive(Serialize, ToSchema)]
pub struct TenantKey {
    /// Key id.
    pub id: String,
    /// The key (`op_` + 48 hex); only its hash is stored.
    pub plaintext: String,
}

/// `POST /platform/tenants/{id}/login-links` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAdminLoginLink {
    /// The admin's email (trimmed, lower-cased).
    #[schema(required = true, format = "email")]
    pub email: Option<String>,
}

/// `POST /platform/tenants/{id}/login-links` answer (no `Debug`: the URL is a secret).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminLoginLink {
    /// `<portal>/t/<slug>/auth/magic?token=opml_…` (a secret: hand it to the admin).
    pub url: String,
    /// When the link expires (ISO 8601, 15 minutes).
    pub expires_at: String,
}

/// Caches the tenant a committed `POST /platform/tenants` created, so `/t/<slug>/…`
/// resolves without a lookup. Replays and errors cache nothing (a replayed tenant was
/// cached by its first request, or is found by the resolver's lookup).
fn cache_created(state: &AppState, reply: &Reply<TenantOut>) {
    let created = match reply {
        Reply::Value(_, t) => Some((t.id.clone(), t.slug.clone())),
        Reply::Keyed(KeyedOutcome::Fresh(_, bytes)) => serde_json::from_slice::<TenantOut>(bytes)
            .ok()
            .map(|t| (t.id, t.slug)),
        _ => None,
    };
    if let Some((id, slug)) = created {
        state.tenants.insert(crate::tenancy::Tenant { id, slug });
    }
}

/// Provisions a tenant (platform key only).
#[utoipa::path(post, path = "/platform/tenants", operation_id = "createTenant", tag = "platform",
    security(("platform" = [])), request_body = CreateTenant,
    extensions(("x-extension" = json!(true))),
    responses((status = 201, description = "The new tenant", body = TenantOut),
        (status = 400, description = "invalid_body (also a malformed or reserved slug)", body = ErrorBody),
        (status = 404, description = "route_not_found (single mode, --no-extensions)", body = ErrorBody),
        (status = 409, description = "slug_taken, external_id_taken", body = ErrorBody)))]
async fn create_tenant(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<CreateTenant>,
) -> ApiResult<Reply<TenantOut>> {
    auth.require_platform()?;
    let mut v = Validation::new();
    let slug = body.slug.map(|s| s.trim().to_owned());
    match &slug {
        None => v.push("slug", "Required"),
        Some(s) if !is_valid_slug(s) => v.push(
            "slug",
            "must be 1-63 characters of a-z, 0-9 and '-', and not a reserved slug",
        ),
        Some(_) => {}
    }
    let display_name = body.display_name.map(|n| n.trim().to_owned());
    match &display_name {
        None => v.push("displayName", "Required"),
        Some(n) if n.is_empty() || n.chars().count() > 200 => {
            v.push("displayName", "must be 1-200 characters")
        }
        Some(_) => {}
    }
    let external_id = body.external_id.map(|x| x.trim().to_owned());
    if let Some(x) = &external_id {
        if x.is_empty() || x.chars().count() > 255 {
            v.push("externalId", "must be 1-255 characters");
        }
    }
    v.finish_body()?;
    let input = NewTenant {
        slug: slug.unwrap_or_default(),
        display_name: display_name.unwrap_or_default(),
        external_id,
    };
    let now = state.now_iso();
    let reply = respond(&state, StatusCode::CREATED, move |c| {
        let id = crate::util::new_id();
        Ok(TenantOut::from(domain::tenants::create(
            c, &id, input, &now,
        )?))
    })
    .await?;
    cache_created(&state, &reply);
    Ok(reply)
}

/// Lists tenants, oldest first, with the total (platform key only).
#[utoipa::path(get, path = "/platform/tenants", operation_id = "listTenants", tag = "platform",
    security(("platform" = [])), params(TenantsQuery),
    extensions(("x-extension" = json!(true))),
    responses((status = 200, description = "A page of tenants", body = TenantPage),
        (status = 404, description = "route_not_found (single mode, --no-extensions)", body = ErrorBody)))]
async fn list_tenants(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<TenantsQuery>,
) -> ApiResult<Reply<TenantPage>> {
    auth.require_platform()?;
    let limit = query::int_in("limit", q.limit.as_deref(), 1, 100, 50)?;
    let offset = query::int_in("offset", q.offset.as_deref(), 0, i64::MAX, 0)?;
    respond::ok(&state, move |c| {
        let (rows, total) = domain::tenants::page(c, limit, offset)?;
        Ok(TenantPage {
            tenants: rows.into_iter().map(TenantOut::from).collect(),
            total,
            limit,
            offset,
        })
    })
    .await
}

/// Looks a tenant up by its external id (platform key only).
#[utoipa::path(get, path = "/platform/tenants/by-external-id/{externalId}",
    operation_id = "getTenantByExternalId", tag = "platform", security(("platform" = [])),
    params(("externalId" = String, Path, description = "The reseller's id for the tenant")),
    extensions(("x-extension" = json!(true))),
    responses((status = 200, description = "The tenant", body = TenantOut),
        (status = 404, description = "not_found; route_not_found (single mode, --no-extensions)", body = ErrorBody)))]
async fn tenant_by_external_id(
    State(state): State<AppState>,
    auth: Auth,
    Path(external_id): Path<String>,
) -> ApiResult<Reply<TenantOut>> {
    auth.require_platform()?;
    respond::ok(&state, move |c| {
        Ok(domain::tenants::by_external_id(c, &external_id)?.into())
    })
    .await
}

/// Creates an admin API key of a tenant, shown once (platform key only).
#[utoipa::path(post, path = "/platform/tenants/{id}/api-keys", operation_id = "createTenantAdminKey",
    tag = "platform", security(("platform" = [])), request_body = CreateTenantKey,
    params(("id" = String, Path, description = "Tenant id")),
    extensions(("x-extension" = json!(true))),
    responses((status = 201, description = "The key (plaintext shown once)", body = TenantKey),
        (status = 404, description = "not_found; route_not_found (single mode, --no-extensions)", body = ErrorBody)))]
async fn create_admin_key(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<CreateTenantKey>,
) -> ApiResult<Reply<TenantKey>> {
    auth.require_platform()?;
    let mut v = Validation::new();
    let label = domain::api_keys::validate_label(body.label, &mut v);
    v.finish_body()?;
    let now = state.now_iso();
    respond(&state, StatusCode::CREATED, move |c| {
        let tenant = domain::tenants::require(c, &id)?;
        let spec = KeySpec {
            kind: "admin",
            partner_id: None,
            label,
            scopes: None,
            ips: None,
        };
        let key = domain::api_keys::create(c, &tenant.id, &spec, &now)?;
        Ok(TenantKey {
            id: key.id,
            plaintext: key.plaintext,
        })
    })
    .await
}

/// A 15-minute, single-use sign-in URL for an admin of a tenant, not mailed; creates and
/// activates the admin when needed (platform key only).
#[utoipa::path(post, path = "/platform/tenants/{id}/login-links", operation_id = "createTenantAdminLoginLink",
    tag = "platform", security(("platform" = [])), request_body = CreateAdminLoginLink,
    params(("id" = String, Path, description = "Tenant id")),
    extensions(("x-extension" = json!(true))),
    responses((status = 201, description = "The login link", body = AdminLoginLink),
        (status = 404, description = "not_found; route_not_found (single mode, --no-extensions)", body = ErrorBody),
        (status = 409, description = "admin_revoked", body = ErrorBody)))]
async fn create_login_link(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<CreateAdminLoginLink>,
) -> ApiResult<Reply<AdminLoginLink>> {
    auth.require_platform()?;
    let mut v = Validation::new();
    let email = body.email.map(|e| e.trim().to_lowercase());
    match &email {
        None => v.push("email", "Required"),
        Some(e) if !is_valid_email(e) => v.push("email", "Invalid email"),
        Some(_) => {}
    }
    v.finish_body()?;
    let email = email.unwrap_or_default();
    let st = state.clone();
    respond(&state, StatusCode::CREATED, move |c| {
        let tenant = domain::tenants::require(c, &id)?.tenant();
        let (url, expires_at) = domain::admins::sign_in_link(c, &st, &tenant, &email)?;
        Ok(AdminLoginLink { url, expires_at })
    })
    .await
}
