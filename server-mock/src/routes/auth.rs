//! Sign-in and identity routes (API.md §2.1): `/auth/signin`, `/auth/magic/verify`,
//! `/auth/signout`, `/auth/whoami`, `/auth/introspect`.
//!
//! Sign-in mails a link to an activated, non-revoked admin with that email, else to an
//! activated, non-revoked partner; otherwise nothing happens (same answer either way).
//! Verify consumes the token only when it succeeds (a 403/404 leaves it unused, which
//! changes nothing since those states do not heal within 15 minutes in practice).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{
    create_magic_link, create_session, session_clear_cookie, session_cookie, session_set_cookie,
    AdminSource, Auth, Principal, Revoked, Subject,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use crate::idempotency::KeyedOutcome;
use crate::mail::{purpose, Mail};
use crate::respond::{self, Reply};
use crate::state::AppState;
use crate::store;
use crate::tenancy::Tenant;
use crate::util;
use crate::wire::admins::AdminSummary;
use crate::wire::partners::PartnerSummary;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signin))
        .routes(routes!(verify))
        .routes(routes!(signout))
        .routes(routes!(whoami))
        .routes(routes!(introspect))
}

/// `POST /auth/signin` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Signin {
    /// The email to mail a sign-in link to (trimmed, case-insensitive).
    #[schema(format = "email")]
    pub email: Option<String>,
}

/// Mails a sign-in link to the active admin, else the active partner, with that email;
/// answers the same when there is none.
#[utoipa::path(post, path = "/auth/signin", tag = "auth", security(()), request_body = Signin,
    responses((status = 200, description = "Mailed when the email belongs to an active admin or partner", body = crate::wire::Ok)))]
async fn signin(
    State(state): State<AppState>,
    tenant: Tenant,
    Json(body): Json<Signin>,
) -> ApiResult<Reply<crate::wire::Ok>> {
    let email = match body.email {
        None => return Err(ApiError::body_field("email", "Required")),
        Some(e) => e.trim().to_lowercase(),
    };
    if !util::is_valid_email(&email) {
        return Err(ApiError::body_field("email", "Invalid email"));
    }
    let st = state.clone();
    respond::ok(&state, move |c| {
        let now = st.now_iso();
        let admin = store::admins::get_by_email(c, &tenant.id, &email)?
            .filter(|a| a.activated_at.is_some() && a.revoked_at.is_none());
        let (subject, purpose, to, name) = if let Some(a) = admin {
            (Subject::Admin(a.id), purpose::ADMIN_SIGNIN, a.email, a.name)
        } else {
            let p = store::partners::get_by_email(c, &tenant.id, &email)?
                .filter(|p| p.activated_at.is_some() && p.revoked_at.is_none());
            match p {
                Some(p) => (Subject::Partner(p.id), purpose::PARTNER_SIGNIN, p.email, p.name),
                None => return Ok(crate::wire::Ok::TRUE),
            }
        };
        let (token, _) = create_magic_link(c, &tenant.id, purpose, &subject, &st)?;
        let url = st.mailer.magic_url(&tenant, &token);
        st.mailer.send(
            c,
            &tenant,
            Mail {
                to: &to,
                subject: "Your sign-in link".into(),
                body: format!(
                    "Hi {name},\n\nOpen this link to sign in (valid for 15 minutes, single use):\n\n{url}\n"
                ),
                purpose,
                token: Some(&token),
                url: Some(&url),
            },
            &now,
        )?;
        Ok(crate::wire::Ok::TRUE)
    })
    .await
}

/// `POST /auth/magic/verify` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Verify {
    /// The `opml_…` token of a magic link.
    pub token: Option<String>,
}

/// `POST /auth/magic/verify` answer (the session is in `Set-Cookie`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Verified {
    /// Always `true`.
    pub ok: bool,
    /// `admin` or `partner`.
    #[schema(example = "partner")]
    pub role: &'static str,
    /// The admin, for admin links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<AdminSummary>,
    /// The partner, for partner links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner: Option<PartnerSummary>,
}

/// Consumes a magic link (single use; activates a pending admin/partner) and starts a
/// session (`Set-Cookie: op_session=…`).
#[utoipa::path(post, path = "/auth/magic/verify", tag = "auth", security(()), request_body = Verify,
    responses((status = 200, description = "Signed in; the session cookie is set", body = Verified),
        (status = 400, description = "invalid_or_expired_token", body = ErrorBody),
        (status = 403, description = "admin_revoked, partner_revoked", body = ErrorBody),
        (status = 404, description = "admin_not_found, partner_not_found", body = ErrorBody)))]
async fn verify(
    State(state): State<AppState>,
    tenant: Tenant,
    Json(body): Json<Verify>,
) -> ApiResult<Response> {
    let Some(token) = body.token else {
        return Err(ApiError::body_field("token", "Required"));
    };
    let session = util::new_session_token();
    let st = state.clone();
    let sess = session.clone();
    let reply = respond::ok(&state, move |c| {
        let now = st.now_iso();
        let invalid = || {
            ApiError::bad_request("invalid_or_expired_token")
                .detail("the sign-in link is invalid, expired or already used")
        };
        let link = store::magic_links::find_by_hash(c, &tenant.id, &util::sha256_hex(&token))?
            .ok_or_else(invalid)?;
        if link.used_at.is_some() || link.expires_at <= now {
            return Err(invalid());
        }
        let (subject, answer) = if let Some(aid) = &link.admin_id {
            let a = store::admins::get(c, &tenant.id, aid)?
                .ok_or_else(|| ApiError::not_found_code("admin_not_found"))?;
            if a.revoked_at.is_some() {
                return Err(ApiError::forbidden_code("admin_revoked"));
            }
            if a.activated_at.is_none() {
                store::admins::set_activated(c, &tenant.id, &a.id, &now)?;
            }
            let answer = Verified {
                ok: true,
                role: "admin",
                admin: Some(AdminSummary::from(&a)),
                partner: None,
            };
            (Subject::Admin(a.id), answer)
        } else if let Some(pid) = &link.partner_id {
            let p = store::partners::get(c, &tenant.id, pid)?
                .ok_or_else(|| ApiError::not_found_code("partner_not_found"))?;
            if p.revoked_at.is_some() {
                return Err(ApiError::forbidden_code("partner_revoked"));
            }
            crate::domain::partners::activate(c, &tenant.id, &p, &now)?;
            let answer = Verified {
                ok: true,
                role: "partner",
                admin: None,
                partner: Some(PartnerSummary::from(&p)),
            };
            (Subject::Partner(p.id), answer)
        } else {
            return Err(invalid());
        };
        store::magic_links::mark_used(c, &link.id, &now)?;
        create_session(c, &tenant.id, &subject, &sess, &st)?;
        Ok(answer)
    })
    .await?;
    // The cookie only goes with an answer whose job created the session (not a replay).
    let fresh = matches!(
        reply,
        Reply::Value(..) | Reply::Keyed(KeyedOutcome::Fresh(..))
    );
    let mut resp = reply.into_response();
    if fresh {
        if let Ok(v) = HeaderValue::from_str(&session_set_cookie(&session, &state)) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// Ends the session of the `op_session` cookie (if any) and clears the cookie.
#[utoipa::path(post, path = "/auth/signout", tag = "auth", security(()),
    responses((status = 200, description = "Signed out (also without a session)", body = crate::wire::Ok)))]
async fn signout(
    State(state): State<AppState>,
    tenant: Tenant,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let hash = session_cookie(&headers).map(util::sha256_hex);
    let st = state.clone();
    let reply = respond::ok(&state, move |c| {
        if let Some(hash) = hash {
            store::sessions::revoke_by_hash(c, &tenant.id, &hash, &st.now_iso())?;
            st.credentials
                .invalidate(&tenant.id, Revoked::SessionToken(&hash));
        }
        Ok(crate::wire::Ok::TRUE)
    })
    .await?;
    let mut resp = reply.into_response();
    if let Ok(v) = HeaderValue::from_str(&session_clear_cookie(&state)) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `GET /auth/whoami` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Whoami {
    /// `admin` or `partner`.
    #[schema(example = "admin")]
    pub role: &'static str,
    /// Admins: `env` (bootstrap key), `db` (admin key) or `session`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    /// Admin sessions: the admin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<AdminSummary>,
    /// Partners: the partner id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// Partners: the partner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner: Option<PartnerSummary>,
}

impl Whoami {
    fn admin(source: &'static str, admin: Option<AdminSummary>) -> Whoami {
        Whoami {
            role: "admin",
            source: Some(source),
            admin,
            partner_id: None,
            partner: None,
        }
    }
}

/// Who the credential belongs to (portal identity; scoped keys → 403
/// `scoped_key_not_for_portal`).
#[utoipa::path(get, path = "/auth/whoami", tag = "auth",
    responses((status = 200, description = "The caller", body = Whoami),
        (status = 403, description = "scoped_key_not_for_portal", body = ErrorBody)))]
async fn whoami(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
) -> ApiResult<Reply<Whoami>> {
    let principal = auth.require_authenticated()?.clone();
    let partner_id = match principal {
        Principal::Admin(AdminSource::Env) => {
            return Ok(Reply::Value(
                axum::http::StatusCode::OK,
                Whoami::admin("env", None),
            ))
        }
        Principal::Admin(AdminSource::Key { .. }) => {
            return Ok(Reply::Value(
                axum::http::StatusCode::OK,
                Whoami::admin("db", None),
            ))
        }
        Principal::Admin(AdminSource::Session { admin, .. }) => {
            return Ok(Reply::Value(
                axum::http::StatusCode::OK,
                Whoami::admin("session", Some(admin.into())),
            ))
        }
        Principal::Scoped { .. } => {
            return Err(ApiError::forbidden_code("scoped_key_not_for_portal")
                .detail("scoped API keys cannot use the portal identity routes"))
        }
        Principal::Partner { partner_id, .. } => partner_id,
        _ => return Err(ApiError::unauthorized()),
    };
    respond::ok(&state, move |c| {
        let p =
            store::partners::get(c, &tenant.id, &partner_id)?.ok_or_else(ApiError::unauthorized)?;
        Ok(Whoami {
            role: "partner",
            source: None,
            admin: None,
            partner_id: Some(p.id.clone()),
            partner: Some(PartnerSummary::from(&p)),
        })
    })
    .await
}

/// `GET /auth/introspect` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Introspection {
    /// `admin`, `scoped` or `partner`.
    #[schema(example = "scoped")]
    pub role: &'static str,
    /// Admins: always `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unrestricted: Option<bool>,
    /// Scoped keys: the scopes, in the order given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    /// Partners: what the credential is restricted to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restricted_to: Option<RestrictedTo>,
}

/// `restrictedTo` of a partner credential.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestrictedTo {
    /// The partner id.
    pub partner_id: String,
}

/// What the credential may do.
#[utoipa::path(get, path = "/auth/introspect", tag = "auth",
    responses((status = 200, description = "The credential's role and limits", body = Introspection)))]
async fn introspect(auth: Auth) -> ApiResult<Reply<Introspection>> {
    let none = Introspection {
        role: "admin",
        unrestricted: None,
        scopes: None,
        restricted_to: None,
    };
    let answer = match auth.require_authenticated()? {
        Principal::Admin(_) => Introspection {
            unrestricted: Some(true),
            ..none
        },
        Principal::Scoped { scopes, .. } => Introspection {
            role: "scoped",
            scopes: Some(scopes.clone()),
            ..none
        },
        Principal::Partner { partner_id, .. } => Introspection {
            role: "partner",
            restricted_to: Some(RestrictedTo {
                partner_id: partner_id.clone(),
            }),
            ..none
        },
        _ => return Err(ApiError::unauthorized()),
    };
    Ok(Reply::Value(axum::http::StatusCode::OK, answer))
}
