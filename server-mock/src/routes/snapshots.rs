//! Per-partner commission snapshots (API.md §3.1):
//! `GET/PUT/DELETE /partners/{id}/commission-snapshot`. Logic: [`crate::domain::snapshots`].

use axum::extract::{Path, State};
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::domain::snapshots;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::Json;
use crate::respond::{self, Reply};
use crate::state::AppState;
use crate::tenancy::Tenant;
use crate::wire::programs::{SnapshotBody, SnapshotEnvelope};

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_one, put, delete))
}

/// The partner's snapshot (admin, or the partner itself); `snapshot: null` when none.
#[utoipa::path(get, path = "/partners/{id}/commission-snapshot", operation_id = "getCommissionSnapshot", tag = "snapshots",
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 200, description = "The snapshot, or null", body = SnapshotEnvelope),
        (status = 404, description = "partner_not_found", body = ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<SnapshotEnvelope>> {
    auth.require_admin_or_partner(&id)?;
    respond::ok(&state, move |c| {
        Ok(SnapshotEnvelope {
            snapshot: snapshots::get(c, &tenant.id, &id)?,
        })
    })
    .await
}

/// Writes (replaces) the partner's snapshot (admin; source `amendment`).
#[utoipa::path(put, path = "/partners/{id}/commission-snapshot", operation_id = "putCommissionSnapshot", tag = "snapshots",
    request_body = SnapshotBody,
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 200, description = "The stored snapshot", body = SnapshotEnvelope),
        (status = 404, description = "partner_not_found", body = ErrorBody)))]
async fn put(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<SnapshotBody>,
) -> ApiResult<Reply<SnapshotEnvelope>> {
    auth.require_admin()?;
    let input = snapshots::parse(body, "")?;
    let now = state.now_iso();
    respond::ok(&state, move |c| {
        Ok(SnapshotEnvelope {
            snapshot: Some(snapshots::put(c, &tenant.id, &id, &input, &now)?),
        })
    })
    .await
}

/// Deletes the partner's snapshot (admin) → `{"ok":true}`.
#[utoipa::path(delete, path = "/partners/{id}/commission-snapshot", operation_id = "deleteCommissionSnapshot", tag = "snapshots",
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 200, description = "`{\"ok\":true}`", body = Object),
        (status = 404, description = "partner_not_found", body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<Value>> {
    auth.require_admin()?;
    respond::ok(&state, move |c| {
        snapshots::delete(c, &tenant.id, &id)?;
        Ok(json!({"ok": true}))
    })
    .await
}
