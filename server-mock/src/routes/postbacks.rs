//! Partner postbacks (API.md §3.6): `GET/POST /partners/{id}/postbacks`, `PATCH/DELETE
//! /partners/{id}/postbacks/{postbackId}` and the \[EXT\] attempt log `GET
//! /partners/{id}/postbacks/{postbackId}/attempts`.
//!
//! Who: an admin for any partner, a partner (key or session) for itself only; everyone
//! else 403 `forbidden` (a partner naming another partner, a scoped key: no scope grants
//! these routes). Check order: guard → body validation (400 `invalid_body`, every field
//! error at once) → 404 `partner_not_found` (as the other partner-owned resources:
//! API keys, links, the commission snapshot) → 404 `postback_not_found` (also for a
//! postback of another partner).
//!
//! Rows serve exactly the fields the SDK's `Postback` reads: `{id, partnerId, url, events,
//! enabled, createdAt}`. `events` is stored without duplicates (first occurrence kept).
//! A `PATCH` changes only the given fields (`null` = not given). `DELETE` answers 204 with
//! no body and removes the postback's attempt log (pending sends are never made).
//! The macros and their encoding: [`crate::domain::postbacks`]; what fires them:
//! [`crate::postbacks`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::domain::grants::require_partner;
use crate::domain::postbacks::{validate_events, validate_url, SUPPORTED_EVENTS};
use crate::error::{ApiError, ApiResult, ErrorBody, Validation};
use crate::extract::Json;
use crate::respond::{self, respond, Reply};
use crate::state::AppState;
use crate::store::postbacks::{
    self as store, NewPostback, Postback, PostbackAttempt, PostbackEvent,
};
use crate::tenancy::Tenant;
use crate::util::new_id;
use crate::wire::lenient::Lenient;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(update, delete))
        .routes(routes!(attempts))
}

/// `GET /partners/{id}/postbacks` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostbackList {
    /// The partner's postbacks, oldest first.
    pub postbacks: Vec<Postback>,
    /// The event types a postback may subscribe to: `commission.accrued`,
    /// `commission.approved`, `commission.reversed`, `commission.paid`.
    #[schema(value_type = Vec<PostbackEvent>)]
    pub supported_events: Vec<String>,
}

/// `POST /partners/{id}/postbacks` body (`null` on a field = absent; unknown fields are
/// ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", expecting = "a JSON object")]
pub struct CreatePostback {
    /// The URL template: absolute http(s), at most 2048 characters, with `{macros}`
    /// (required).
    #[schema(value_type = String, required = true, max_length = 2048, pattern = "^[\\x00-\\x20]*[Hh][Tt][Tt][Pp][Ss]?://")]
    pub url: Option<Lenient<String>>,
    /// 1–10 of `commission.accrued`, `commission.approved`, `commission.reversed`,
    /// `commission.paid` (required; duplicates are dropped).
    #[schema(value_type = Vec<PostbackEvent>, required = true, min_items = 1, max_items = 10)]
    pub events: Option<Lenient<Vec<String>>>,
    /// Whether it fires (default `true`).
    #[schema(value_type = Option<bool>)]
    pub enabled: Option<Lenient<bool>>,
}

/// `PATCH /partners/{id}/postbacks/{postbackId}` body: only the given fields change
/// (`null` = not given; unknown fields are ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", expecting = "a JSON object")]
pub struct UpdatePostback {
    /// New URL template (absolute http(s), at most 2048 characters).
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^[\\x00-\\x20]*[Hh][Tt][Tt][Pp][Ss]?://")]
    pub url: Option<Lenient<String>>,
    /// New event types (1–10 `commission.*` types).
    #[schema(value_type = Option<Vec<PostbackEvent>>, min_items = 1, max_items = 10)]
    pub events: Option<Lenient<Vec<String>>>,
    /// Turns it on or off.
    #[schema(value_type = Option<bool>)]
    pub enabled: Option<Lenient<bool>>,
}

/// Validates the fields of a create (`required`: `url` and `events` must be given) or a
/// `PATCH` body into the changes they make. Errors: 400 `invalid_body` naming every bad
/// field (wrong types included).
fn validate(
    url: Option<Lenient<String>>,
    events: Option<Lenient<Vec<String>>>,
    enabled: Option<Lenient<bool>>,
    required: bool,
) -> ApiResult<store::PostbackChanges> {
    let mut v = Validation::new();
    let url = match url {
        None => {
            if required {
                v.push("url", "Required");
            }
            None
        }
        Some(Lenient::Valid(u)) => {
            validate_url(&u, &mut v);
            Some(u)
        }
        Some(Lenient::Invalid) => {
            v.push("url", "Expected an absolute http(s) URL");
            None
        }
    };
    let events = match events {
        None => {
            if required {
                v.push("events", "Required");
            }
            None
        }
        Some(Lenient::Valid(e)) => Some(validate_events(&e, &mut v)),
        Some(Lenient::Invalid) => {
            v.push("events", "Expected an array of event types");
            None
        }
    };
    let enabled = match enabled {
        None => None,
        Some(Lenient::Valid(b)) => Some(b),
        Some(Lenient::Invalid) => {
            v.push("enabled", "Expected a boolean");
            None
        }
    };
    v.finish_body()?;
    Ok(store::PostbackChanges {
        url,
        events,
        enabled,
    })
}

/// `GET …/attempts` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptList {
    /// The postback's sends, oldest first (each is its one try: no retries).
    pub attempts: Vec<PostbackAttempt>,
}

/// Lists a partner's postbacks (admin, or the partner itself).
#[utoipa::path(get, path = "/partners/{id}/postbacks", operation_id = "listPostbacks", tag = "postbacks",
    params(("id" = String, Path, description = "Partner id")),
    responses((status = 200, description = "The partner's postbacks, oldest first, and the event types", body = PostbackList),
        (status = 404, description = "partner_not_found", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Reply<PostbackList>> {
    auth.require_admin_or_partner(&id)?;
    respond::ok(&state, move |c| {
        require_partner(c, &tenant.id, &id, "partner_not_found")?;
        Ok(PostbackList {
            postbacks: store::list_for_partner(c, &tenant.id, &id)?,
            supported_events: SUPPORTED_EVENTS.iter().map(|e| e.to_string()).collect(),
        })
    })
    .await
}

/// Creates a postback for a partner (admin, or the partner itself).
#[utoipa::path(post, path = "/partners/{id}/postbacks", operation_id = "createPostback", tag = "postbacks",
    params(("id" = String, Path, description = "Partner id")),
    request_body = CreatePostback,
    responses((status = 201, description = "The postback", body = Postback),
        (status = 404, description = "partner_not_found", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<CreatePostback>,
) -> ApiResult<Reply<Postback>> {
    auth.require_admin_or_partner(&id)?;
    let ch = validate(body.url, body.events, body.enabled, true)?;
    let (url, events) = (ch.url.unwrap_or_default(), ch.events.unwrap_or_default());
    let enabled = ch.enabled.unwrap_or(true);
    let now = state.now_iso();
    let reply = respond(&state, StatusCode::CREATED, move |c| {
        require_partner(c, &tenant.id, &id, "partner_not_found")?;
        let pid = new_id();
        store::insert(
            c,
            &tenant.id,
            &NewPostback {
                id: &pid,
                partner_id: &id,
                url: &url,
                events: &events,
                enabled,
                now: &now,
            },
        )?;
        Ok(Postback {
            id: pid,
            partner_id: id,
            url,
            events,
            enabled,
            created_at: now,
        })
    })
    .await?;
    // from now on every committed event runs a dispatcher cycle (its fan-out feeds
    // postbacks too)
    state.webhooks.note_subscriber();
    Ok(reply)
}

/// Changes a postback (admin, or the partner itself); only the given fields change.
#[utoipa::path(patch, path = "/partners/{id}/postbacks/{postbackId}", operation_id = "updatePostback", tag = "postbacks",
    params(("id" = String, Path, description = "Partner id"),
        ("postbackId" = String, Path, description = "Postback id")),
    request_body = UpdatePostback,
    responses((status = 200, description = "The postback after the change", body = Postback),
        (status = 404, description = "partner_not_found, postback_not_found", body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path((id, postback_id)): Path<(String, String)>,
    Json(body): Json<UpdatePostback>,
) -> ApiResult<Reply<Postback>> {
    auth.require_admin_or_partner(&id)?;
    let changes = validate(body.url, body.events, body.enabled, false)?;
    let now = state.now_iso();
    respond::ok(&state, move |c| {
        require_partner(c, &tenant.id, &id, "partner_not_found")?;
        if !store::update(c, &tenant.id, &id, &postback_id, &changes, &now)? {
            return Err(postback_not_found());
        }
        store::get(c, &tenant.id, &id, &postback_id)?.ok_or_else(postback_not_found)
    })
    .await
}

/// Deletes a postback and its attempt log (admin, or the partner itself) → 204, no body.
#[utoipa::path(delete, path = "/partners/{id}/postbacks/{postbackId}", operation_id = "deletePostback", tag = "postbacks",
    params(("id" = String, Path, description = "Partner id"),
        ("postbackId" = String, Path, description = "Postback id")),
    responses((status = 204, description = "Deleted (no body)"),
        (status = 404, description = "partner_not_found, postback_not_found", body = ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path((id, postback_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    auth.require_admin_or_partner(&id)?;
    let reply = respond::ok(&state, move |c| {
        require_partner(c, &tenant.id, &id, "partner_not_found")?;
        if store::delete(c, &tenant.id, &id, &postback_id)? {
            Ok(())
        } else {
            Err(postback_not_found())
        }
    })
    .await?;
    Ok(match reply {
        // the one answer without a body: 204 (API.md), not `null`
        Reply::Value(..) => StatusCode::NO_CONTENT.into_response(),
        other => other.into_response(),
    })
}

/// \[EXT\] A postback's sends, oldest first, each with its one try's outcome (admin, or
/// the partner itself).
#[utoipa::path(get, path = "/partners/{id}/postbacks/{postbackId}/attempts", operation_id = "listPostbackAttempts", tag = "postbacks",
    params(("id" = String, Path, description = "Partner id"),
        ("postbackId" = String, Path, description = "Postback id")),
    extensions(("x-extension" = json!(true))),
    responses((status = 200, description = "The postback's sends, oldest first", body = AttemptList),
        (status = 404, description = "partner_not_found, postback_not_found", body = ErrorBody)))]
async fn attempts(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path((id, postback_id)): Path<(String, String)>,
) -> ApiResult<Reply<AttemptList>> {
    if !state.ext() {
        return Err(ApiError::route_not_found());
    }
    auth.require_admin_or_partner(&id)?;
    respond::ok(&state, move |c| {
        require_partner(c, &tenant.id, &id, "partner_not_found")?;
        store::get(c, &tenant.id, &id, &postback_id)?.ok_or_else(postback_not_found)?;
        Ok(AttemptList {
            attempts: store::list_attempts(c, &tenant.id, &postback_id)?,
        })
    })
    .await
}

/// 404 `postback_not_found`.
fn postback_not_found() -> ApiError {
    ApiError::not_found_code("postback_not_found")
}
