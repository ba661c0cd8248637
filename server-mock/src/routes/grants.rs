//! Program grants (API.md §3.1): `GET/POST /partners/{id}/campaigns` and
//! `DELETE /partners/{id}/programs/{programId}`. Logic: [`crate::domain::grants`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::domain::grants;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::respond::{self, Reply};
use crate::state::AppState;
use crate::store::grants::Campaign;
use crate::tenancy::Tenant;

/// Most program ids one `POST /partners/{id}/campaigns` may carry.
pub const MAX_PROGRAM_IDS: usize = 1000;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(remove))
}

/// `{"campaigns": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignList {
    /// Every program of the tenant with the partner's grant state, oldest first.
    pub campaigns: Vec<Campaign>,
}

/// `POST /partners/{id}/campaigns` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", expecting = "a JSON object")]
pub struct AddCampaigns {
    /// Program ids to grant (1–1000 entries; unknown ids are skipped).
    #[schema(required = true, max_items = 1000)]
    pub program_ids: Option<Vec<String>>,
}

/// `{"added": […]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AddedCampaigns {
    /// The program ids newly granted (ids already granted are not repeated).
    pub added: Vec<String>,
}

/// Every program of the tenant with whether the partner holds it (admin).
#[utoipa::path(get, path = "/partners/{id}/campaigns", operation_id = "listCampaigns", tag = "grants",
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 200, description = "The programs with the partner's grant state", body = CampaignList),
        (status = 404, description = "not_found: no such partner", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<CampaignList>> {
    auth.require_admin()?;
    respond::ok(&state, move |c| {
        Ok(CampaignList {
            campaigns: grants::campaigns(c, &tenant.id, &id)?,
        })
    })
    .await
}

/// Grants programs to the partner (admin; grant source `manual`).
#[utoipa::path(post, path = "/partners/{id}/campaigns", operation_id = "addCampaigns", tag = "grants", request_body = AddCampaigns,
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 201, description = "The ids newly granted", body = AddedCampaigns),
        (status = 404, description = "not_found: no such partner; no_valid_campaigns: none of the ids is a program", body = ErrorBody)))]
async fn add(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<AddCampaigns>,
) -> ApiResult<Reply<AddedCampaigns>> {
    auth.require_admin()?;
    let program_ids = match body.program_ids {
        Some(ids) if ids.len() <= MAX_PROGRAM_IDS => ids,
        _ => {
            return Err(ApiError::body_field(
                "programIds",
                "Expected an array of program ids",
            ))
        }
    };
    let now = state.now_iso();
    respond::respond(&state, StatusCode::CREATED, move |c| {
        Ok(AddedCampaigns {
            added: grants::add(c, &tenant.id, &id, &program_ids, &now)?,
        })
    })
    .await
}

/// Removes the partner's grant of a program (admin) → `{"ok":true}`.
#[utoipa::path(delete, path = "/partners/{id}/programs/{programId}", operation_id = "removeGrant", tag = "grants",
    params(("id" = String, Path, description = "Partner id"),
        ("programId" = String, Path, description = "Program id")),
    responses((status = 200, description = "`{\"ok\":true}`", body = Object),
        (status = 404, description = "grant_not_found", body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path((id, program_id)): Path<(String, String)>,
) -> ApiResult<Reply<Value>> {
    auth.require_admin()?;
    respond::ok(&state, move |c| {
        grants::remove(c, &tenant.id, &id, &program_id)?;
        Ok(json!({"ok": true}))
    })
    .await
}
