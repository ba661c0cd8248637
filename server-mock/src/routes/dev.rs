//! `GET /dev/mailbox` (admin): the tenant's stored mail, oldest first. Optional `?to=`
//! filters by recipient (case-insensitive).
//!
//! `GET /dev/faults` (admin): the fault-injection log of the server ([`crate::faults`]).

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Query;
use crate::faults::{FaultLog, Faults};
use crate::respond::{self, Reply};
use crate::state::AppState;
use crate::store::mailbox::StoredMail;
use crate::tenancy::Tenant;

/// Routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mailbox))
        .routes(routes!(fault_log))
}

/// `GET /dev/mailbox` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MailboxQuery {
    /// Only messages to this address (case-insensitive).
    pub to: Option<String>,
}

/// `GET /dev/mailbox` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Mailbox {
    /// The messages, oldest first.
    pub messages: Vec<Message>,
}

/// One stored message.
#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// What the message is for.
    pub metadata: MessageMetadata,
}

/// `metadata` of a stored message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageMetadata {
    /// `partner_invite`, `partner_signin`, `admin_invite`, `admin_signin` or
    /// `partner_revoked`.
    #[schema(example = "partner_invite")]
    pub purpose: String,
    /// The magic-link token, `null` when the mail carries none.
    pub token: Option<String>,
    /// The magic-link URL, `null` when the mail carries none.
    pub url: Option<String>,
}

impl From<StoredMail> for Message {
    fn from(m: StoredMail) -> Message {
        Message {
            to: m.to,
            subject: m.subject,
            body: m.body,
            metadata: MessageMetadata {
                purpose: m.purpose,
                token: m.token,
                url: m.url,
            },
        }
    }
}

/// The dev mailbox (the reference server sends no mail; admin only).
#[utoipa::path(get, path = "/dev/mailbox", tag = "dev", params(MailboxQuery),
    responses((status = 200, description = "Stored messages, oldest first", body = Mailbox)))]
async fn mailbox(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    Query(q): Query<MailboxQuery>,
) -> ApiResult<Reply<Mailbox>> {
    auth.require_admin()?;
    let to = q.to.filter(|s| !s.is_empty()).map(|s| s.to_lowercase());
    respond::ok(&state, move |c| {
        let messages = crate::store::mailbox::list(c, &tenant.id, to.as_deref())?;
        Ok(Mailbox {
            messages: messages.into_iter().map(Message::from).collect(),
        })
    })
    .await
}

/// The fault-injection log (admin only): whether `--faults` is on, its settings, and the
/// faults injected per kind since the server started — server-wide, the same in every
/// tenant (counted in memory: a restart starts again from zero). Never faulted itself.
/// Answered from memory, without a database job.
#[utoipa::path(get, path = "/dev/faults", tag = "dev",
    extensions(("x-extension" = json!(true))),
    responses((status = 200, description = "The fault log; `enabled: false` and zero counts without --faults", body = FaultLog)))]
async fn fault_log(
    auth: Auth,
    faults: Option<Extension<Arc<Faults>>>,
) -> ApiResult<Json<FaultLog>> {
    auth.require_admin()?;
    Ok(Json(match faults {
        Some(Extension(f)) => f.log(),
        None => FaultLog::disabled(),
    }))
}
