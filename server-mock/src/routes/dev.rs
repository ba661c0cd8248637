//! `GET /dev/mailbox` (admin): the tenant's stored mail, oldest first. Optional `?to=`
//! filters by recipient (case-insensitive).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::QueryParams;
use crate::state::AppState;
use crate::tenancy::Tenant;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/dev/mailbox", get(mailbox))
}

async fn mailbox(
    State(state): State<AppState>,
    tenant: Tenant,
    auth: Auth,
    q: QueryParams,
) -> ApiResult<Json<Value>> {
    auth.require_admin()?;
    let to = q.string("to").map(|s| s.to_lowercase());
    let messages = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(
                "SELECT to_addr, subject, body, purpose, token, url FROM mail
                 WHERE tenant_id = ?1 AND (?2 IS NULL OR lower(to_addr) = ?2) ORDER BY seq",
            )?;
            let rows = stmt
                .query_map(rusqlite::params![tenant.id, to], |r| {
                    Ok(json!({
                        "to": r.get::<_, String>(0)?,
                        "subject": r.get::<_, String>(1)?,
                        "body": r.get::<_, String>(2)?,
                        "metadata": {
                            "purpose": r.get::<_, String>(3)?,
                            "token": r.get::<_, Option<String>>(4)?,
                            "url": r.get::<_, Option<String>>(5)?,
                        }
                    }))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    Ok(Json(json!({ "messages": messages })))
}
