//! \[EXT\] `client.platform()`: tenant provisioning for resellers (API.md §5). Needs a
//! platform key (pass it with [`crate::Credentials::api_key`]) and a multi-tenant server;
//! routes are called without the tenant prefix.

use serde_json::{json, Map, Value};

use crate::api::analytics::LoginLink;
use crate::capabilities::Extension;
use crate::client::{seg, Client, Req};
use crate::error::Result;
use crate::pagination::OffsetPage;
use crate::types::{CreatedApiKey, Tenant, TenantsBody};

/// Platform handler; obtain with [`Client::platform`].
#[derive(Debug, Clone)]
pub struct Platform {
    pub(crate) client: Client,
}

impl Client {
    /// \[EXT\] Tenant provisioning under `/platform/*`.
    pub fn platform(&self) -> Platform {
        Platform {
            client: self.clone(),
        }
    }
}

/// A page of tenants plus the total count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantPage {
    /// Rows, with the page's limit and offset.
    pub page: OffsetPage<Tenant>,
    /// Total number of tenants.
    pub total: Option<u64>,
}

impl Platform {
    /// `POST /platform/tenants {slug, displayName, externalId?}` → 201 tenant.
    ///
    /// Errors: [`crate::Error::Unsupported`] (`platform`) before sending on servers without
    /// the extension; 409 `slug_taken` / `external_id_taken`; 400 for reserved slugs; 401.
    pub async fn create_tenant(
        &self,
        slug: impl Into<String>,
        display_name: impl Into<String>,
        external_id: Option<String>,
    ) -> Result<Tenant> {
        self.client.require_extension(Extension::Platform).await?;
        let mut body = Map::new();
        body.insert("slug".into(), json!(slug.into()));
        body.insert("displayName".into(), json!(display_name.into()));
        if let Some(e) = external_id {
            body.insert("externalId".into(), json!(e));
        }
        self.client
            .send_json(Req::post("/platform/tenants").json(Value::Object(body)))
            .await
    }

    /// `GET /platform/tenants?limit&offset` (limit 1–100, default 50).
    ///
    /// Errors: `Unsupported` (`platform`); 400 `invalid_query`; 401.
    pub async fn list_tenants(
        &self,
        limit: Option<u32>,
        offset: Option<u64>,
    ) -> Result<TenantPage> {
        self.client.require_extension(Extension::Platform).await?;
        let b: TenantsBody = self
            .client
            .send_json(
                Req::get("/platform/tenants")
                    .query_opt("limit", limit)
                    .query_opt("offset", offset),
            )
            .await?;
        Ok(TenantPage {
            page: OffsetPage {
                items: b.tenants,
                limit: b.limit.or(limit).unwrap_or(50),
                offset: b.offset.or(offset).unwrap_or(0),
            },
            total: b.total,
        })
    }

    /// `GET /platform/tenants/by-external-id/:externalId`. Errors: `Unsupported`; 404.
    pub async fn tenant_by_external_id(&self, external_id: impl AsRef<str>) -> Result<Tenant> {
        self.client.require_extension(Extension::Platform).await?;
        self.client
            .send_json(Req::get(format!(
                "/platform/tenants/by-external-id/{}",
                seg(external_id.as_ref())
            )))
            .await
    }

    /// `POST /platform/tenants/:id/api-keys {label?}` → 201 `{id, plaintext}`: an admin key of
    /// that tenant, shown once. Errors: `Unsupported`; 404.
    pub async fn create_admin_key(
        &self,
        tenant_id: impl AsRef<str>,
        label: Option<String>,
    ) -> Result<CreatedApiKey> {
        self.client.require_extension(Extension::Platform).await?;
        let body = match label {
            Some(l) => json!({ "label": l }),
            None => json!({}),
        };
        self.client
            .send_json(
                Req::post(format!(
                    "/platform/tenants/{}/api-keys",
                    seg(tenant_id.as_ref())
                ))
                .json(body),
            )
            .await
    }

    /// `POST /platform/tenants/:id/login-links {email}` → 201 `{url, expiresAt}`: an admin
    /// magic link (creates and activates the admin if needed).
    ///
    /// Errors: `Unsupported`; 404; 409 `admin_revoked`.
    pub async fn login_link(
        &self,
        tenant_id: impl AsRef<str>,
        email: impl Into<String>,
    ) -> Result<LoginLink> {
        self.client.require_extension(Extension::Platform).await?;
        self.client
            .send_json(
                Req::post(format!(
                    "/platform/tenants/{}/login-links",
                    seg(tenant_id.as_ref())
                ))
                .json(json!({ "email": email.into() })),
            )
            .await
    }
}
