//! Programs (API.md §3.2): `GET/POST /programs`, `PATCH /programs/{id}` and
//! `GET /me/programs`. Validation and writes are [`crate::domain::programs`]; the
//! limits API.md does not state are documented there and on [`ProgramBody`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, Principal};
use crate::domain::programs;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::respond::{self, Reply};
use crate::state::AppState;
use crate::store::programs::{self as store, ProgramSummary};
use crate::tenancy::Tenant;
use crate::wire::programs::{Program, ProgramBody};

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update))
        .routes(routes!(me_programs))
}

/// `{"programs": […]}`: every program of the tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgramList {
    /// Oldest first.
    pub programs: Vec<Program>,
}

/// `{"programs": […]}` of `GET /me/programs`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyPrograms {
    /// Oldest first.
    pub programs: Vec<ProgramSummary>,
}

/// Every program of the tenant (admin).
#[utoipa::path(get, path = "/programs", operation_id = "listPrograms", tag = "programs",
    responses((status = 200, description = "Every program, oldest first", body = ProgramList)))]
async fn list(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
) -> ApiResult<Reply<ProgramList>> {
    auth.require_admin()?;
    respond::ok(&state, move |c| {
        Ok(ProgramList {
            programs: store::list(c, &tenant.id)?,
        })
    })
    .await
}

/// Creates a program (admin); `grantToAllPartners: true` also grants it to every partner.
#[utoipa::path(post, path = "/programs", operation_id = "createProgram", tag = "programs", request_body = ProgramBody,
    responses((status = 201, description = "The new program", body = Program)))]
async fn create(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<ProgramBody>,
) -> ApiResult<Reply<Program>> {
    auth.require_admin()?;
    let input = programs::validate(body, true)?;
    let now = state.now_iso();
    respond::respond(&state, StatusCode::CREATED, move |c| {
        programs::create(c, &tenant.id, input, &now)
    })
    .await
}

/// Changes the given fields of a program (admin).
#[utoipa::path(patch, path = "/programs/{id}", operation_id = "updateProgram", tag = "programs", request_body = ProgramBody,
    params(("id" = String, Path, description = "Program id")),
    responses((status = 200, description = "The updated program", body = Program),
        (status = 404, description = "not_found: no such program", body = crate::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<ProgramBody>,
) -> ApiResult<Reply<Program>> {
    auth.require_admin()?;
    let input = programs::validate(body, false)?;
    let now = state.now_iso();
    respond::ok(&state, move |c| {
        programs::update(c, &tenant.id, &id, input, &now)
    })
    .await
}

/// A partner's granted programs that are active now; every program for an admin.
#[utoipa::path(get, path = "/me/programs", operation_id = "listMyPrograms", tag = "programs",
    responses((status = 200, description = "The caller's programs, oldest first", body = MyPrograms)))]
async fn me_programs(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
) -> ApiResult<Reply<MyPrograms>> {
    let partner = match auth.require_authenticated()? {
        Principal::Admin(_) => None,
        Principal::Partner { partner_id, .. } => Some(partner_id.clone()),
        _ => return Err(ApiError::forbidden()),
    };
    let now = state.now_iso();
    respond::ok(&state, move |c| {
        let programs = match partner {
            Some(pid) => store::list_active_granted(c, &tenant.id, &pid, &now)?,
            None => store::list_summaries(c, &tenant.id)?,
        };
        Ok(MyPrograms { programs })
    })
    .await
}
