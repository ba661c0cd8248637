//! Partners (API.md §3.1): create, list (keyset), get, \[EXT\] by-external-id, invite,
//! revoke, reinstate. Shared helpers for other modules: [`Partner`], [`load_partner`],
//! [`Partner::to_json`], [`send_partner_invite`].
//!
//! Choices where API.md is silent: a revoked partner cannot be invited (409
//! `partner_revoked`); reinstating does not bring back revoked keys or sessions; the
//! revoke notification is a dev-mailbox message with purpose `partner_revoked`;
//! program grants made because `programIds` was omitted have `grant_source = 'all'`,
//! explicit ones `'manual'`.
//!
//! Not handled here yet: the `commissionSnapshot` field of `POST /partners` (it is
//! ignored like any unknown field until the commission-snapshot module exists; that module
//! should validate it with its SubRule rules and write the snapshot inside `create`'s
//! transaction).

use crate::db::ConnExt;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::{create_magic_link, Auth, Scope, Subject};
use crate::error::{ApiError, ApiResult, Validation};
use crate::extract::{Json, QueryParams};
use crate::mail::{purpose, Mail};
use crate::pagination;
use crate::routes::common::{reinstate, Reinstatable};
use crate::state::AppState;
use crate::tenancy::Tenant;
use crate::util::{self, is_valid_email};

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partners", post(create).get(list))
        .route("/partners/{id}", get(get_one))
        .route(
            "/partners/by-external-id/{external_id}",
            get(by_external_id),
        )
        .route("/partners/{id}/invite", post(invite))
        .route("/partners/{id}/revoke", post(revoke))
        .route("/partners/{id}/reinstate", post(reinstate::<Partner>))
}

/// A partner row.
#[derive(Debug, Clone)]
pub struct Partner {
    /// Id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Email (lower-cased).
    pub email: String,
    /// Name.
    pub name: String,
    /// \[EXT\] external id.
    pub external_id: Option<String>,
    /// Stripe Connect account.
    pub stripe_connect_account_id: Option<String>,
    /// Metadata object (JSON text).
    pub metadata: String,
    /// Created.
    pub created_at: String,
    /// Updated.
    pub updated_at: String,
    /// Activated.
    pub activated_at: Option<String>,
    /// Revoked.
    pub revoked_at: Option<String>,
    /// Revoke reason.
    pub revoke_reason: Option<String>,
}

/// Column list matching [`Partner::from_row`].
pub const PARTNER_COLS: &str = "id, tenant_id, email, name, external_id, stripe_connect_account_id, metadata, created_at, updated_at, activated_at, revoked_at, revoke_reason";

impl Partner {
    /// Reads a row selected with [`PARTNER_COLS`].
    pub fn from_row(r: &Row<'_>) -> rusqlite::Result<Partner> {
        Ok(Partner {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            email: r.get(2)?,
            name: r.get(3)?,
            external_id: r.get(4)?,
            stripe_connect_account_id: r.get(5)?,
            metadata: r.get(6)?,
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
            activated_at: r.get(9)?,
            revoked_at: r.get(10)?,
            revoke_reason: r.get(11)?,
        })
    }

    /// The API row; `externalId` only when extensions are on.
    pub fn to_json(&self, ext: bool) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("tenantId".into(), json!(self.tenant_id));
        m.insert("email".into(), json!(self.email));
        m.insert("name".into(), json!(self.name));
        if ext {
            m.insert("externalId".into(), json!(self.external_id));
        }
        m.insert(
            "stripeConnectAccountId".into(),
            json!(self.stripe_connect_account_id),
        );
        m.insert(
            "metadata".into(),
            serde_json::from_str(&self.metadata).unwrap_or_else(|_| json!({})),
        );
        m.insert("createdAt".into(), json!(self.created_at));
        m.insert("updatedAt".into(), json!(self.updated_at));
        m.insert("activatedAt".into(), json!(self.activated_at));
        m.insert("revokedAt".into(), json!(self.revoked_at));
        m.insert("revokeReason".into(), json!(self.revoke_reason));
        m
    }

    /// `{id, name, email, stripeConnected}` (auth responses).
    pub fn summary_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "stripeConnected": self.stripe_connect_account_id.is_some(),
        })
    }
}

/// Loads a partner of `tenant_id`.
pub fn load_partner(c: &Connection, tenant_id: &str, id: &str) -> ApiResult<Option<Partner>> {
    Ok(c.row(
        &format!("SELECT {PARTNER_COLS} FROM partners WHERE tenant_id = ?1 AND id = ?2"),
        params![tenant_id, id],
        Partner::from_row,
    )
    .optional()?)
}

/// Creates a `partner_invite` magic link and mails it.
pub fn send_partner_invite(
    c: &Connection,
    state: &AppState,
    tenant: &Tenant,
    partner: &Partner,
) -> ApiResult<()> {
    let (token, _) = create_magic_link(
        c,
        &tenant.id,
        purpose::PARTNER_INVITE,
        &Subject::Partner(partner.id.clone()),
        state,
    )?;
    let url = state.mailer.magic_url(tenant, &token);
    state.mailer.send(
        c,
        tenant,
        Mail {
            to: &partner.email,
            subject: "You're invited to our partner program".into(),
            body: format!(
                "Hi {},\n\nYou have been invited to join our partner program. Open this link to activate your account (valid for 15 minutes):\n\n{url}\n",
                partner.name
            ),
            purpose: purpose::PARTNER_INVITE,
            token: Some(&token),
            url: Some(&url),
        },
        &state.now_iso(),
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    email: String,
    name: String,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    send_invite: Option<bool>,
    #[serde(default)]
    program_ids: Option<Vec<String>>,
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    commission_snapshot: Option<Value>,
}

async fn create(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Json(body): Json<CreateBody>,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_scope(Scope::PartnersWrite)?;
    let ext = state.ext();
    let mut v = Validation::new();
    let email = body.email.trim().to_lowercase();
    if !is_valid_email(&email) {
        v.push("email", "Invalid email");
    }
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        v.push("name", "must be 1-200 characters");
    }
    let metadata = match body.metadata {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(m)) => Value::Object(m),
        Some(_) => {
            v.push("metadata", "must be an object");
            json!({})
        }
    };
    let external_id = if ext { body.external_id } else { None };
    if let Some(x) = &external_id {
        if x.is_empty() || x.chars().count() > 255 {
            v.push("externalId", "must be 1-255 characters");
        }
    }
    v.finish_body()?;
    let snapshot = match &body.commission_snapshot {
        None | Some(Value::Null) => None,
        Some(s) => Some(crate::routes::programs::parse_snapshot(
            s,
            "commissionSnapshot.",
        )?),
    };
    let send_invite = body.send_invite.unwrap_or(true);
    let program_ids = body.program_ids;

    let st = state.clone();
    crate::respond::respond(&state, StatusCode::CREATED, move |c| {
            let tx = c.savepoint()?;
            let now = st.now_iso();
            // programs
            let grants: Vec<(String, &str)> = match &program_ids {
                None => {
                    let mut s = tx.prepare("SELECT id FROM programs WHERE tenant_id = ?1 ORDER BY created_at, id")?;
                    let ids = s
                        .query_map([&tenant.id], |r| r.get::<_, String>(0))?
                        .collect::<Result<Vec<_>, _>>()?;
                    ids.into_iter().map(|i| (i, "all")).collect()
                }
                Some(ids) => {
                    let mut missing = Vec::new();
                    let mut uniq: Vec<String> = Vec::new();
                    for id in ids {
                        if uniq.contains(id) || missing.contains(id) {
                            continue;
                        }
                        let found: Option<String> = tx
                            .query_row(
                                "SELECT id FROM programs WHERE tenant_id = ?1 AND id = ?2",
                                params![tenant.id, id],
                                |r| r.get(0),
                            )
                            .optional()?;
                        match found {
                            Some(_) => uniq.push(id.clone()),
                            None => missing.push(id.clone()),
                        }
                    }
                    if !missing.is_empty() {
                        return Err(ApiError::bad_request("unknown_campaign_ids")
                            .detail("some programIds do not exist")
                            .field("missing", json!(missing)));
                    }
                    uniq.into_iter().map(|i| (i, "manual")).collect()
                }
            };
            let taken: bool = tx
                .query_row(
                    "SELECT 1 FROM partners WHERE tenant_id = ?1 AND email = ?2",
                    params![tenant.id, email],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if taken {
                return Err(ApiError::conflict("email_taken"));
            }
            if let Some(x) = &external_id {
                let taken: bool = tx
                    .query_row(
                        "SELECT 1 FROM partners WHERE tenant_id = ?1 AND external_id = ?2",
                        params![tenant.id, x],
                        |_| Ok(()),
                    )
                    .optional()?
                    .is_some();
                if taken {
                    return Err(ApiError::conflict("external_id_taken"));
                }
            }
            let id = util::new_id();
            let activated_at = if send_invite { None } else { Some(now.clone()) };
            tx.exec(
                "INSERT INTO partners (id, tenant_id, email, name, external_id, metadata, created_at, updated_at, activated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
                params![id, tenant.id, email, name, external_id, metadata.to_string(), now, activated_at],
            )?;
            for (pid, source) in &grants {
                tx.exec(
                    "INSERT INTO partner_programs (id, tenant_id, partner_id, program_id, grant_source, granted_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![format!("pc_{}", util::new_id()), tenant.id, id, pid, source, now],
                )?;
            }
            if let Some(s) = &snapshot {
                crate::routes::programs::put_snapshot(&tx, &tenant.id, &id, s, &now)?;
            }
            let partner = load_partner(&tx, &tenant.id, &id)?.ok_or_else(ApiError::internal)?;
            if send_invite {
                send_partner_invite(&tx, &st, &tenant, &partner)?;
            }
            let program_ids: Vec<&String> = grants.iter().map(|(p, _)| p).collect();
            crate::outbox::emit(
                &tx,
                &tenant.id,
                "partner.created",
                json!({
                    "partnerId": partner.id,
                    "email": partner.email,
                    "name": partner.name,
                    "activatedAt": partner.activated_at,
                    "invited": send_invite,
                    "programIds": program_ids,
                }),
                &now,
            )?;
            tx.commit()?;
            let mut m = partner.to_json(ext);
            m.insert("invited".into(), json!(send_invite));
            Ok(Value::Object(m))
        })
        .await
}

async fn list(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    q: QueryParams,
) -> ApiResult<axum::Json<Value>> {
    auth.require_scope(Scope::PartnersRead)?;
    let limit = q.int_in("limit", 1, 200, 100)? as usize;
    let cursor = q
        .string("cursor")
        .map(|c| pagination::decode(&c))
        .transpose()?;
    let email = q.string("email").map(|e| e.trim().to_lowercase());
    let ext = state.ext();
    let rows = state
        .db
        .call(move |c| {
            let (cts, cid) = match &cursor {
                Some(cur) => (Some(cur.ts.clone()), Some(cur.id.clone())),
                None => (None, None),
            };
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {PARTNER_COLS} FROM partners
                 WHERE tenant_id = ?1
                   AND (?2 IS NULL OR email = ?2)
                   AND (?3 IS NULL OR created_at < ?3 OR (created_at = ?3 AND id < ?4))
                 ORDER BY created_at DESC, id DESC
                 LIMIT ?5"
            ))?;
            let rows = stmt
                .query_map(
                    params![tenant.id, email, cts, cid, (limit + 1) as i64],
                    Partner::from_row,
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    let (rows, next) = pagination::page(rows, limit, |p| (p.created_at.clone(), p.id.clone()));
    let partners: Vec<Value> = rows.iter().map(|p| Value::Object(p.to_json(ext))).collect();
    Ok(axum::Json(
        json!({ "partners": partners, "nextCursor": next }),
    ))
}

async fn get_one(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    auth.require_admin_or_partner(&id)?;
    let ext = state.ext();
    let p = state
        .db
        .call(move |c| load_partner(c, &tenant.id, &id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(Value::Object(p.to_json(ext))))
}

async fn by_external_id(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(external_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    if !state.ext() {
        return Err(ApiError::route_not_found());
    }
    auth.require_scope(Scope::PartnersRead)?;
    let p = state
        .db
        .call(move |c| {
            Ok(c.row(
                &format!(
                    "SELECT {PARTNER_COLS} FROM partners WHERE tenant_id = ?1 AND external_id = ?2"
                ),
                params![tenant.id, external_id],
                Partner::from_row,
            )
            .optional()?)
        })
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(axum::Json(Value::Object(p.to_json(true))))
}

async fn invite(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_scope(Scope::PartnersWrite)?;
    let st = state.clone();
    crate::respond::ok(&state, move |c| {
        let tx = c.savepoint()?;
        let p = load_partner(&tx, &tenant.id, &id)?.ok_or_else(ApiError::not_found)?;
        if p.activated_at.is_some() {
            return Err(ApiError::conflict("already_activated"));
        }
        if p.revoked_at.is_some() {
            return Err(ApiError::conflict("partner_revoked"));
        }
        send_partner_invite(&tx, &st, &tenant, &p)?;
        tx.commit()?;
        Ok(json!({"ok": true}))
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
struct RevokeBody {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    notify: Option<bool>,
}

async fn revoke(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<RevokeBody>,
) -> ApiResult<crate::respond::Reply<Value>> {
    auth.require_scope(Scope::PartnersWrite)?;
    if let Some(r) = &body.reason {
        if r.chars().count() > 500 {
            return Err(ApiError::body_field(
                "reason",
                "must be at most 500 characters",
            ));
        }
    }
    let notify = body.notify.unwrap_or(true);
    let reason = body.reason;
    let st = state.clone();
    crate::respond::ok(&state, move |c| {
            let tx = c.savepoint()?;
            let p = load_partner(&tx, &tenant.id, &id)?.ok_or_else(ApiError::not_found)?;
            if p.revoked_at.is_some() {
                return Err(ApiError::conflict("already_revoked"));
            }
            let now = st.now_iso();
            tx.exec(
                "UPDATE partners SET revoked_at = ?1, revoke_reason = ?2, updated_at = ?1 WHERE id = ?3",
                params![now, reason, p.id],
            )?;
            tx.exec(
                "UPDATE api_keys SET revoked_at = ?1 WHERE partner_id = ?2 AND revoked_at IS NULL",
                params![now, p.id],
            )?;
            tx.exec(
                "UPDATE sessions SET revoked_at = ?1 WHERE partner_id = ?2 AND revoked_at IS NULL",
                params![now, p.id],
            )?;
            if notify {
                let reason_line = reason
                    .as_deref()
                    .map(|r| format!("\nReason: {r}\n"))
                    .unwrap_or_default();
                st.mailer.send(
                    &tx,
                    &tenant,
                    Mail {
                        to: &p.email,
                        subject: "Your partner account has been deactivated".into(),
                        body: format!(
                            "Hi {},\n\nYour partner account has been deactivated; your links no longer earn commissions.\n{reason_line}",
                            p.name
                        ),
                        purpose: "partner_revoked",
                        token: None,
                        url: None,
                    },
                    &now,
                )?;
            }
            tx.commit()?;
            Ok(json!({
                "ok": true,
                "revokedAt": now,
                "notified": notify,
                "notifyError": null,
            }))
        })
        .await
}

impl Reinstatable for Partner {
    const REINSTATE_SQL: &'static str =
        "UPDATE partners SET revoked_at = NULL, revoke_reason = NULL, updated_at = ?1 WHERE id = ?2";
    fn load(c: &Connection, tenant_id: &str, id: &str) -> ApiResult<Option<Self>> {
        load_partner(c, tenant_id, id)
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}
