//! Tracking links (API.md §3.3): `GET/POST /partners/{id}/links`.
//!
//! Check order of `POST` (API.md lists the errors, not their order): body validation
//! (400 `invalid_body`) → 404 `partner_not_found` → 404 `campaign_not_found` → 403
//! `campaign_not_granted` (partner principals only) → 409 `campaign_not_active` → 400
//! `destination_override_not_allowed` → 409 `linkKey_taken`.
//!
//! Limits API.md does not state: `linkKey` is 3–64 of `[A-Za-z0-9_-]` (unique in the
//! tenant); `destinationUrl` is an absolute http(s) URL of at most 2048 characters.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Principal, Scope};
use crate::domain::grants::require_partner;
use crate::domain::programs::is_http_url;
use crate::error::{ApiError, ApiResult, ErrorBody, Validation};
use crate::extract::Json;
use crate::respond::{self, Reply};
use crate::routes::common::required_field;
use crate::state::AppState;
use crate::store::links::{self as store, Link};
use crate::store::{grants, programs};
use crate::tenancy::Tenant;
use crate::util::new_id;

/// Most characters of a link's `destinationUrl`.
pub const MAX_DESTINATION: usize = 2048;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create))
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

/// `{"links": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkList {
    /// The partner's links, newest first.
    pub links: Vec<Link>,
}

/// `POST /partners/{id}/links` body (`null` on an optional field = absent).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", expecting = "a JSON object")]
pub struct CreateLink {
    /// 3–64 of `[A-Za-z0-9_-]`, unique in the tenant (required).
    #[schema(required = true, pattern = "^[A-Za-z0-9_-]{3,64}$")]
    pub link_key: Option<String>,
    /// The program to promote (required).
    #[schema(required = true, min_length = 1)]
    pub program_id: Option<String>,
    /// Deep-link override: an absolute http(s) URL (≤ 2048 characters) whose host is in the
    /// program's `deepLinkAllowedDomains`.
    #[schema(pattern = "^[\\x00-\\x20]*[Hh][Tt][Tt][Pp][Ss]?://", max_length = 2048)]
    pub destination_url: Option<String>,
}

/// A validated [`CreateLink`].
struct LinkInput {
    link_key: String,
    program_id: String,
    destination: Option<String>,
}

fn validate(body: CreateLink) -> ApiResult<LinkInput> {
    let mut v = Validation::new();
    let link_key = required_field(
        &mut v,
        "linkKey",
        body.link_key,
        is_link_key,
        "Expected 3-64 characters of [A-Za-z0-9_-]",
    );
    let program_id = required_field(
        &mut v,
        "programId",
        body.program_id,
        |s| !s.is_empty(),
        "Expected a program id",
    );
    let destination = match body.destination_url {
        None => None,
        Some(s) if is_http_url(&s) && s.chars().count() <= MAX_DESTINATION => Some(s),
        Some(_) => {
            v.push("destinationUrl", "Expected an absolute http(s) URL");
            None
        }
    };
    v.finish_body()?;
    Ok(LinkInput {
        link_key,
        program_id,
        destination,
    })
}

/// The partner's links, newest first (admin, or the partner itself).
#[utoipa::path(get, path = "/partners/{id}/links", operation_id = "listLinks", tag = "links",
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 200, description = "The partner's links", body = LinkList),
        (status = 404, description = "partner_not_found", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<LinkList>> {
    auth.require_admin_or_partner(&id)?;
    respond::ok(&state, move |c| {
        require_partner(c, &tenant.id, &id, "partner_not_found")?;
        Ok(LinkList {
            links: store::list_for_partner(c, &tenant.id, &id)?,
        })
    })
    .await
}

/// Creates a tracking link (admin, `links:write`, or the partner itself, which needs a
/// grant of the program).
#[utoipa::path(post, path = "/partners/{id}/links", operation_id = "createLink", tag = "links", request_body = CreateLink,
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 201, description = "The new link", body = Link),
        (status = 400, description = "destination_override_not_allowed: the host is not in the program's deepLinkAllowedDomains", body = ErrorBody),
        (status = 403, description = "campaign_not_granted (partner callers)", body = ErrorBody),
        (status = 404, description = "partner_not_found / campaign_not_found", body = ErrorBody),
        (status = 409, description = "campaign_not_active / linkKey_taken", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<CreateLink>,
) -> ApiResult<Reply<Link>> {
    auth.require_scope_or_partner(Scope::LinksWrite, &id)?;
    let partner_principal = matches!(auth.principal, Principal::Partner { .. });
    let input = validate(body)?;
    let now = state.now_iso();
    respond::respond(&state, StatusCode::CREATED, move |c| {
        let tenant_id = &tenant.id;
        require_partner(c, tenant_id, &id, "partner_not_found")?;
        let terms = programs::link_terms(c, tenant_id, &input.program_id)?
            .ok_or_else(|| ApiError::not_found_code("campaign_not_found"))?;
        if partner_principal && !grants::is_granted(c, &id, &input.program_id)? {
            return Err(ApiError::forbidden_code("campaign_not_granted"));
        }
        let before = terms.starts_at.as_deref().is_some_and(|s| now.as_str() < s);
        let after = terms.ends_at.as_deref().is_some_and(|e| now.as_str() >= e);
        if before || after {
            return Err(ApiError::conflict("campaign_not_active").detail(if before {
                "the program has not started yet"
            } else {
                "the program has ended"
            }));
        }
        if let Some(d) = &input.destination {
            let host = url::Url::parse(d)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            if !host_allowed(&host, terms.deep_link_allowed_domains.as_deref()) {
                return Err(
                    ApiError::bad_request("destination_override_not_allowed").detail(
                        "the destination's host is not in the program's deepLinkAllowedDomains",
                    ),
                );
            }
        }
        if store::key_taken(c, tenant_id, &input.link_key)? {
            return Err(ApiError::conflict("linkKey_taken"));
        }
        let link = Link {
            id: new_id(),
            tenant_id: tenant_id.clone(),
            link_key: input.link_key,
            partner_id: id,
            program_id: input.program_id,
            destination_url: input.destination,
            created_at: now,
        };
        store::insert(c, &link)?;
        store::get(c, &link.id)?.ok_or_else(ApiError::internal)
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
