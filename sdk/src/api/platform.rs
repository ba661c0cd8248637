//! \[EXT\] `client.platform()`: tenant provisioning for resellers (API.md §5). Needs a
//! platform key (pass it with [`crate::Credentials::api_key`]) and a multi-tenant server
//! that advertises `platform`; routes are called without the tenant prefix (even when the
//! client has a tenant configured).
//!
//! Errors common to every method: [`crate::Error::Unsupported`] (`platform`) before
//! sending when the server does not advertise the extension (single-mode servers, servers
//! without a platform key, `--no-extensions`); [`crate::Error::Api`] 401 `unauthorized`
//! for any credential but the platform key (admin keys included); 404 `route_not_found`
//! from a server that lacks the routes altogether.
//!
//! ```no_run
//! # async fn demo() -> openpartner::Result<()> {
//! use openpartner::{Client, Credentials};
//! let platform = Client::builder()
//!     .base_url("http://127.0.0.1:4100")
//!     .credentials(Credentials::api_key("<platform key>"))
//!     .build()?;
//! let t = platform.platform().create_tenant("acme", "Acme Inc.", None).await?;
//! let key = platform.platform().create_admin_key(&t.id, None).await?;
//! // key.plaintext is an admin key of `acme`: use it with `.tenant("acme")`.
//! # let _ = key; Ok(()) }
//! ```

use futures::stream::BoxStream;
use serde_json::{json, Map, Value};

use crate::api::analytics::LoginLink;
use crate::capabilities::Extension;
use crate::client::{seg, Client, Req};
use crate::error::Result;
use crate::pagination::{self, OffsetPage, Page, PageToken};
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

/// A page of tenants plus the total count (`GET /platform/tenants`, oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantPage {
    /// Rows, with the page's limit and offset.
    pub page: OffsetPage<Tenant>,
    /// Total number of tenants (API.md §5 always sends it; `None` only from a server that
    /// omits it, where a short page marks the end instead).
    pub total: Option<u64>,
}

impl Page for TenantPage {
    type Item = Tenant;
    fn items(&self) -> &[Tenant] {
        &self.page.items
    }
    fn into_items(self) -> Vec<Tenant> {
        self.page.items
    }
    /// The next offset while `offset + rows < total` (without a total: while the page was
    /// full); never after an empty page.
    fn next_token(&self) -> Option<PageToken> {
        let seen = self.page.offset + self.page.items.len() as u64;
        match self.total {
            Some(total) if !self.page.items.is_empty() && seen < total => {
                Some(PageToken::Offset(seen))
            }
            Some(_) => None,
            None => self.page.next_token(),
        }
    }
}

impl Platform {
    /// `POST /platform/tenants {slug, displayName, externalId?}` → 201: provisions a
    /// tenant, reachable at once under `/t/<slug>`. Takes the slug (`[a-z0-9-]+`, not
    /// reserved; checked by the server), the display name and an optional external id of
    /// your own; returns the new [`Tenant`].
    ///
    /// Errors (besides the module's common ones): [`crate::Error::Api`] 409 `slug_taken`,
    /// 409 `external_id_taken`, 400 `invalid_body` (a malformed or reserved slug, an empty
    /// display name).
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

    /// `GET /platform/tenants?limit&offset`: one page of tenants, oldest first. Takes the
    /// page size (1–100; the server's default is 50) and the offset (default 0); returns the
    /// rows with the echoed limit/offset and the `total`.
    ///
    /// Errors (besides the module's common ones): 400 `invalid_query` (limit or offset out
    /// of range: never clamped).
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

    /// Every tenant, lazily, page by page (`GET /platform/tenants` with `page_size` rows a
    /// page, default 50) until `offset + rows` reaches the `total`. Errors: as
    /// [`Platform::list_tenants`], yielded by the stream (which then ends).
    pub fn all_tenants(&self, page_size: Option<u32>) -> BoxStream<'static, Result<Tenant>> {
        let platform = self.clone();
        pagination::items(
            move |token: Option<PageToken>| {
                let platform = platform.clone();
                async move {
                    let offset = match token {
                        Some(PageToken::Offset(o)) => o,
                        _ => 0,
                    };
                    platform.list_tenants(page_size, Some(offset)).await
                }
            },
            None,
        )
    }

    /// `GET /platform/tenants/by-external-id/:externalId`: the tenant you provisioned with
    /// that external id. Errors (besides the module's common ones): 404 `not_found`.
    pub async fn tenant_by_external_id(&self, external_id: impl AsRef<str>) -> Result<Tenant> {
        self.client.require_extension(Extension::Platform).await?;
        self.client
            .send_json(Req::get(format!(
                "/platform/tenants/by-external-id/{}",
                seg(external_id.as_ref())
            )))
            .await
    }

    /// `POST /platform/tenants/:id/api-keys {label?}` → 201 `{id, plaintext}`: a new admin
    /// key of tenant `tenant_id` (valid at once on `/t/<slug>/…`), shown once. The body is
    /// not stored for Idempotency-Key replays (it holds a secret): a repeat answers 409
    /// `idempotency_replay_unavailable` with the key's id.
    ///
    /// Errors (besides the module's common ones): 404 `not_found` (unknown tenant), 400
    /// `invalid_body` (label over 100 characters).
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

    /// `POST /platform/tenants/:id/login-links {email}` → 201 `{url, expiresAt}`: a
    /// single-use, 15-minute admin sign-in link (`<portal>/t/<slug>/auth/magic?token=…`,
    /// verify it with [`crate::api::auth::Auth::verify_magic_link`] on that tenant); the
    /// admin is created and activated when the tenant has none with that email. Nothing is
    /// mailed; the URL is a secret (masked in `Debug`).
    ///
    /// Errors (besides the module's common ones): 404 `not_found` (unknown tenant), 409
    /// `admin_revoked`, 400 `invalid_body` (not an email).
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
