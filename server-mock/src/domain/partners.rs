//! Partner lifecycle (API.md §3.1): revoke and reinstate, with the credential-cache
//! invalidation that must run inside the same job (see [`crate::auth::cache`]).

use rusqlite::Connection;

use crate::auth::{CredentialCache, Revoked};
use crate::error::{ApiError, ApiResult};
use crate::store;

/// Revokes partner `id` at `now`: sets `revoked_at`/`revoke_reason`, revokes its live
/// API keys and sessions, and drops its cached credentials (so its next request is 401).
/// The caller has checked that the partner exists and is active.
pub fn revoke(
    c: &Connection,
    credentials: &CredentialCache,
    tenant_id: &str,
    id: &str,
    reason: Option<&str>,
    now: &str,
) -> ApiResult<()> {
    store::partners::set_revoked(c, tenant_id, id, reason, now)?;
    store::api_keys::revoke_for_partner(c, tenant_id, id, now)?;
    store::sessions::revoke_for_partner(c, tenant_id, id, now)?;
    credentials.invalidate(tenant_id, Revoked::Partner(id));
    Ok(())
}

/// `POST /partners/{id}/reinstate`: clears the revocation of partner `id` (its keys and
/// sessions stay revoked) and drops any cached credential of it. Errors: 404 `not_found`,
/// 409 `not_revoked`.
pub fn reinstate(
    c: &Connection,
    credentials: &CredentialCache,
    tenant_id: &str,
    id: &str,
    now: &str,
) -> ApiResult<()> {
    super::require_revoked(store::partners::revoked_at(c, tenant_id, id)?)?;
    store::partners::clear_revoked(c, tenant_id, id, now)?;
    credentials.invalidate(tenant_id, Revoked::Partner(id));
    Ok(())
}

/// `data` of the `partner.activated` webhook event.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PartnerActivated<'a> {
    partner_id: &'a str,
    email: &'a str,
    name: &'a str,
    activated_at: &'a str,
}

/// `data` of the `partner.created` webhook event.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PartnerCreated<'a> {
    partner_id: &'a str,
    email: &'a str,
    name: &'a str,
    /// `null` while pending.
    activated_at: Option<&'a str>,
    invited: bool,
    program_ids: Vec<&'a String>,
}

/// Activates pending partner `p` at `now` (first magic-link sign-in) and records the
/// `partner.activated` webhook event; an active partner is left as is. Errors: database
/// errors.
pub fn activate(
    c: &Connection,
    tenant_id: &str,
    p: &store::partners::Partner,
    now: &str,
) -> ApiResult<()> {
    if p.activated_at.is_some() {
        return Ok(());
    }
    store::partners::set_activated(c, tenant_id, &p.id, now)?;
    let data = PartnerActivated {
        partner_id: &p.id,
        email: &p.email,
        name: &p.name,
        activated_at: now,
    };
    crate::outbox::emit(
        c,
        tenant_id,
        "partner.activated",
        serde_json::to_value(data)?,
        now,
    )?;
    Ok(())
}

use crate::auth::{create_magic_link, Subject};
use crate::mail::{purpose, Mail};
use crate::state::AppState;
use crate::store::partners::Partner;
use crate::tenancy::Tenant;
use crate::util;

/// Creates a `partner_invite` magic link for `partner` and mails it. Errors: database
/// errors.
pub fn send_invite(
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

/// A validated `POST /partners` body.
#[derive(Debug, Clone)]
pub struct NewPartnerInput {
    /// Email (trimmed, lower-cased).
    pub email: String,
    /// Name (trimmed, 1–200 characters).
    pub name: String,
    /// Metadata object.
    pub metadata: serde_json::Value,
    /// \[EXT\] external id (extensions on only).
    pub external_id: Option<String>,
    /// Mail an invite (the partner stays pending) or activate at once.
    pub send_invite: bool,
    /// Programs to grant; `None` grants every program of the tenant.
    pub program_ids: Option<Vec<String>>,
}

/// `POST /partners`: grants the programs, inserts the partner, mails the invite when
/// asked, records `partner.created`. Errors: 400 `unknown_campaign_ids` (with
/// `missing`), 409 `email_taken`, 409 `external_id_taken`.
pub fn create(
    c: &Connection,
    state: &AppState,
    tenant: &Tenant,
    input: NewPartnerInput,
) -> ApiResult<Partner> {
    let now = state.now_iso();
    let grants: Vec<(String, &str)> = match &input.program_ids {
        None => store::programs::ids(c, &tenant.id)?
            .into_iter()
            .map(|i| (i, "all"))
            .collect(),
        Some(ids) => {
            let mut missing: Vec<String> = Vec::new();
            let mut uniq: Vec<String> = Vec::new();
            for id in ids {
                if uniq.contains(id) || missing.contains(id) {
                    continue;
                }
                if store::programs::exists(c, &tenant.id, id)? {
                    uniq.push(id.clone());
                } else {
                    missing.push(id.clone());
                }
            }
            if !missing.is_empty() {
                return Err(ApiError::bad_request("unknown_campaign_ids")
                    .detail("some programIds do not exist")
                    .field("missing", missing));
            }
            uniq.into_iter().map(|i| (i, "manual")).collect()
        }
    };
    if store::partners::email_taken(c, &tenant.id, &input.email)? {
        return Err(ApiError::conflict("email_taken"));
    }
    if let Some(x) = &input.external_id {
        if store::partners::external_id_taken(c, &tenant.id, x)? {
            return Err(ApiError::conflict("external_id_taken"));
        }
    }
    let id = util::new_id();
    store::partners::insert(
        c,
        &tenant.id,
        &store::partners::NewPartner {
            id: &id,
            email: &input.email,
            name: &input.name,
            external_id: input.external_id.as_deref(),
            metadata: &input.metadata.to_string(),
            created_at: &now,
            activated_at: (!input.send_invite).then_some(now.as_str()),
        },
    )?;
    for (program_id, source) in &grants {
        store::grants::insert(c, &tenant.id, &id, program_id, source, &now)?;
    }
    let partner = store::partners::get(c, &tenant.id, &id)?.ok_or_else(ApiError::internal)?;
    if input.send_invite {
        send_invite(c, state, tenant, &partner)?;
    }
    let program_ids: Vec<&String> = grants.iter().map(|(p, _)| p).collect();
    let data = PartnerCreated {
        partner_id: &partner.id,
        email: &partner.email,
        name: &partner.name,
        activated_at: partner.activated_at.as_deref(),
        invited: input.send_invite,
        program_ids,
    };
    crate::outbox::emit(
        c,
        &tenant.id,
        "partner.created",
        serde_json::to_value(data)?,
        &now,
    )?;
    Ok(partner)
}

/// `POST /partners/{id}/invite`: mails a new invite to pending partner `id`. Errors: 404
/// `not_found`, 409 `already_activated`, 409 `partner_revoked`.
pub fn invite(c: &Connection, state: &AppState, tenant: &Tenant, id: &str) -> ApiResult<()> {
    let p = store::partners::get(c, &tenant.id, id)?.ok_or_else(ApiError::not_found)?;
    if p.activated_at.is_some() {
        return Err(ApiError::conflict("already_activated"));
    }
    if p.revoked_at.is_some() {
        return Err(ApiError::conflict("partner_revoked"));
    }
    send_invite(c, state, tenant, &p)
}

/// `POST /partners/{id}/revoke`: checks, [`revoke`], and when `notify` mails the
/// partner (purpose `partner_revoked`, with the reason). Errors: 404 `not_found`, 409
/// `already_revoked`.
pub fn revoke_checked(
    c: &Connection,
    state: &AppState,
    tenant: &Tenant,
    id: &str,
    reason: Option<&str>,
    notify: bool,
    now: &str,
) -> ApiResult<()> {
    let p = store::partners::get(c, &tenant.id, id)?.ok_or_else(ApiError::not_found)?;
    if p.revoked_at.is_some() {
        return Err(ApiError::conflict("already_revoked"));
    }
    revoke(c, &state.credentials, &tenant.id, &p.id, reason, now)?;
    if notify {
        let reason_line = reason
            .map(|r| format!("\nReason: {r}\n"))
            .unwrap_or_default();
        state.mailer.send(
            c,
            tenant,
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
            now,
        )?;
    }
    Ok(())
}
