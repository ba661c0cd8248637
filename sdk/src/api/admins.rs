//! `client.admins()` (API.md §3.8).

use serde_json::json;

use crate::client::{seg, Client, Req};
use crate::error::Result;
use crate::types::{Admin, AdminEnvelope, AdminsBody};

/// Admins handler; obtain with [`Client::admins`].
#[derive(Debug, Clone)]
pub struct Admins {
    pub(crate) client: Client,
}

impl Admins {
    /// `GET /admins` → `{"admins":[…]}`.
    ///
    /// Errors: 401/403.
    pub async fn list(&self) -> Result<Vec<Admin>> {
        let body: AdminsBody = self.client.send_json(Req::get("/admins")).await?;
        Ok(body.admins)
    }

    /// `POST /admins {email,name}` → the admin (accepts a bare row or `{"admin":{…}}`).
    ///
    /// Errors: 400 `invalid_body`; 409 `email_taken`.
    pub async fn create(&self, email: impl AsRef<str>, name: impl AsRef<str>) -> Result<Admin> {
        let env: AdminEnvelope = self
            .client
            .send_json(
                Req::post("/admins")
                    .json(json!({ "email": email.as_ref(), "name": name.as_ref() })),
            )
            .await?;
        Ok(env.into_admin())
    }

    /// `POST /admins/:id/invite`. Errors: 404; 409 `already_activated`.
    pub async fn invite(&self, id: impl AsRef<str>) -> Result<()> {
        self.client
            .send_unit(Req::post(format!("/admins/{}/invite", seg(id.as_ref()))))
            .await
    }

    /// `POST /admins/:id/revoke`. Errors: 404; 409 `already_revoked`,
    /// `cannot_revoke_self`, `cannot_revoke_last_active_admin`.
    pub async fn revoke(&self, id: impl AsRef<str>) -> Result<()> {
        self.client
            .send_unit(Req::post(format!("/admins/{}/revoke", seg(id.as_ref()))))
            .await
    }

    /// `POST /admins/:id/reinstate`. Errors: 404; 409 `not_revoked`.
    pub async fn reinstate(&self, id: impl AsRef<str>) -> Result<()> {
        self.client
            .send_unit(Req::post(format!("/admins/{}/reinstate", seg(id.as_ref()))))
            .await
    }
}
