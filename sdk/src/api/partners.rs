//! `client.partners()` (API.md §3.1).

use futures::stream::BoxStream;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::capabilities::Extension;
use crate::client::{seg, Client, Req, WithMeta};
use crate::error::{Error, Result};
use crate::pagination::{CursorPage, Listing, PageToken};
use crate::types::{CreatedPartner, Partner, RevokeResult, SnapshotInput};

/// Partners handler; obtain with [`Client::partners`].
#[derive(Debug, Clone)]
pub struct Partners {
    pub(crate) client: Client,
}

impl Partners {
    /// Describes `POST /partners` for `email` and `name`; finish with
    /// [`CreatePartner::send`].
    pub fn create(&self, email: impl Into<String>, name: impl Into<String>) -> CreatePartner {
        CreatePartner {
            client: self.client.clone(),
            email: email.into(),
            name: name.into(),
            metadata: None,
            send_invite: None,
            program_ids: None,
            external_id: None,
            idempotency_key: None,
            commission_snapshot: None,
        }
    }

    /// Describes `GET /partners` (cursor-paginated); finish with [`ListPartners::send`],
    /// [`ListPartners::stream`] or [`ListPartners::pages`].
    pub fn list(&self) -> ListPartners {
        ListPartners {
            client: self.client.clone(),
            email: None,
            page_size: None,
            limit: None,
            cursor: None,
        }
    }

    /// `GET /partners/:id` (admin, or the partner itself).
    ///
    /// Errors: 404 `not_found`; 401/403.
    pub async fn get(&self, id: impl AsRef<str>) -> Result<Partner> {
        self.client
            .send_json(Req::get(format!("/partners/{}", seg(id.as_ref()))))
            .await
    }

    /// \[EXT\] `GET /partners/by-external-id/:externalId`.
    ///
    /// Errors: [`Error::Unsupported`] (`external-id`) before sending when the server lacks the
    /// extension (capabilities are refreshed via `GET /health` if none are known); 404
    /// `not_found`.
    pub async fn by_external_id(&self, external_id: impl AsRef<str>) -> Result<Partner> {
        self.client.require_extension(Extension::ExternalId).await?;
        self.client
            .send_json(Req::get(format!(
                "/partners/by-external-id/{}",
                seg(external_id.as_ref())
            )))
            .await
    }

    /// `POST /partners/:id/invite`: sends a new invite mail.
    ///
    /// Errors: 404 `not_found`; 409 `already_activated`.
    pub async fn invite(&self, id: impl AsRef<str>) -> Result<()> {
        self.client
            .send_unit(Req::post(format!("/partners/{}/invite", seg(id.as_ref()))))
            .await
    }

    /// Describes `POST /partners/:id/revoke`; finish with [`RevokePartner::send`].
    pub fn revoke(&self, id: impl Into<String>) -> RevokePartner {
        RevokePartner {
            client: self.client.clone(),
            id: id.into(),
            reason: None,
            notify: None,
        }
    }

    /// `POST /partners/:id/reinstate`.
    ///
    /// Errors: 404 `not_found`; 409 `not_revoked`.
    pub async fn reinstate(&self, id: impl AsRef<str>) -> Result<()> {
        self.client
            .send_unit(Req::post(format!(
                "/partners/{}/reinstate",
                seg(id.as_ref())
            )))
            .await
    }
}

/// Builder for `POST /partners`.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct CreatePartner {
    client: Client,
    email: String,
    name: String,
    metadata: Option<Value>,
    send_invite: Option<bool>,
    program_ids: Option<Vec<String>>,
    external_id: Option<String>,
    idempotency_key: Option<String>,
    commission_snapshot: Option<SnapshotInput>,
}

impl CreatePartner {
    retry_setter!();
    /// Free-form metadata (a JSON object).
    pub fn metadata(mut self, m: Value) -> Self {
        self.metadata = Some(m);
        self
    }
    /// `false` creates the partner already active and sends no mail (default `true`).
    pub fn send_invite(mut self, b: bool) -> Self {
        self.send_invite = Some(b);
        self
    }
    /// Programs to grant (omitted: all programs; empty: none).
    pub fn program_ids(mut self, ids: Vec<String>) -> Self {
        self.program_ids = Some(ids);
        self
    }
    /// \[EXT\] external id (requires the `external-id` extension).
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into());
        self
    }
    /// The `Idempotency-Key` to send (default: a fresh ULID, reused across retries).
    pub fn idempotency_key(mut self, k: impl Into<String>) -> Self {
        self.idempotency_key = Some(k.into());
        self
    }
    /// Initial commission override for the partner.
    pub fn commission_snapshot(mut self, s: SnapshotInput) -> Self {
        self.commission_snapshot = Some(s);
        self
    }

    /// Sends `POST /partners` → 201 row + `invited`, with [`ResponseMeta`](crate::ResponseMeta): `replayed` is
    /// `true` when the same `Idempotency-Key` was already answered (nothing created now).
    ///
    /// Errors: [`Error::Unsupported`] (`external-id`) before sending when an external id is
    /// set and the server lacks the extension; 400 `invalid_body` / `unknown_campaign_ids`
    /// (with `missing`); 409 `email_taken` / `external_id_taken`.
    pub async fn send(self) -> Result<WithMeta<CreatedPartner>> {
        if self.external_id.is_some() {
            self.client.require_extension(Extension::ExternalId).await?;
        }
        let mut body = Map::new();
        body.insert("email".into(), json!(self.email));
        body.insert("name".into(), json!(self.name));
        if let Some(m) = self.metadata {
            body.insert("metadata".into(), m);
        }
        if let Some(b) = self.send_invite {
            body.insert("sendInvite".into(), json!(b));
        }
        if let Some(p) = self.program_ids {
            body.insert("programIds".into(), json!(p));
        }
        if let Some(e) = self.external_id {
            body.insert("externalId".into(), json!(e));
        }
        if let Some(s) = self.commission_snapshot {
            let v = serde_json::to_value(&s)
                .map_err(|e| Error::Config(format!("cannot serialise snapshot: {e}")))?;
            body.insert("commissionSnapshot".into(), v);
        }
        self.client
            .send_json_meta(
                Req::post("/partners")
                    .json(Value::Object(body))
                    .idempotency_key(self.idempotency_key),
            )
            .await
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PartnersBody {
    partners: Vec<Partner>,
    #[serde(default)]
    next_cursor: Option<String>,
}

/// Builder for `GET /partners`.
#[derive(Debug, Clone)]
#[must_use = "call .send(), .stream() or .pages()"]
pub struct ListPartners {
    client: Client,
    email: Option<String>,
    page_size: Option<u32>,
    limit: Option<usize>,
    cursor: Option<String>,
}

impl ListPartners {
    retry_setter!();
    /// Exact, case-insensitive email filter (kept on every page).
    pub fn email(mut self, e: impl Into<String>) -> Self {
        self.email = Some(e.into());
        self
    }
    /// Rows per page, 1–200 (server default 100); sent as `limit`.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }
    /// Stop after `n` items in total (streams fetch no further page).
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }
    /// Start from this cursor (a previous page's `next_cursor`).
    pub fn cursor(mut self, c: impl Into<String>) -> Self {
        self.cursor = Some(c.into());
        self
    }

    fn listing(
        self,
    ) -> Listing<
        impl FnMut(
                Option<PageToken>,
            ) -> futures::future::BoxFuture<'static, Result<CursorPage<Partner>>>
            + Send
            + 'static,
    > {
        let first = self.cursor.clone();
        let limit = self.limit;
        let fetch = move |token| {
            let client = self.client.clone();
            let cursor = match token {
                Some(PageToken::Cursor(c)) => Some(c),
                Some(PageToken::Offset(_)) => None,
                None => first.clone(),
            };
            let req = Req::get("/partners")
                .query_opt("email", self.email.clone())
                .query_opt("limit", self.page_size)
                .query_opt("cursor", cursor);
            Box::pin(async move {
                let body: PartnersBody = client.send_json(req).await?;
                Ok(CursorPage {
                    items: body.partners,
                    next_cursor: body.next_cursor,
                })
            }) as futures::future::BoxFuture<'static, Result<CursorPage<Partner>>>
        };
        Listing::new(fetch, limit)
    }

    /// Fetches one page (from `.cursor()` or the start). `.limit()` truncates its items.
    ///
    /// Errors: 400 `invalid_query` / `invalid_cursor`; 401/403.
    pub async fn send(self) -> Result<CursorPage<Partner>> {
        self.listing().first_page().await
    }

    /// All pages, lazily, as a stream of pages. With `.limit(n)` no page is fetched once
    /// `n` items were seen (pages themselves are not truncated).
    pub fn pages(self) -> BoxStream<'static, Result<CursorPage<Partner>>> {
        self.listing().pages()
    }

    /// All partners, lazily, page by page; stops after `.limit(n)` items.
    pub fn stream(self) -> BoxStream<'static, Result<Partner>> {
        self.listing().items()
    }
}

/// Builder for `POST /partners/:id/revoke`.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct RevokePartner {
    client: Client,
    id: String,
    reason: Option<String>,
    notify: Option<bool>,
}

impl RevokePartner {
    retry_setter!();
    /// Reason (≤ 500 chars), stored as `revokeReason`.
    pub fn reason(mut self, r: impl Into<String>) -> Self {
        self.reason = Some(r.into());
        self
    }
    /// Whether to mail the partner (default `true`).
    pub fn notify(mut self, b: bool) -> Self {
        self.notify = Some(b);
        self
    }
    /// Sends the revocation: revokes sessions and keys, stops future attribution.
    ///
    /// Errors: 404 `not_found`; 409 `already_revoked`.
    pub async fn send(self) -> Result<RevokeResult> {
        let mut body = Map::new();
        if let Some(r) = self.reason {
            body.insert("reason".into(), json!(r));
        }
        if let Some(n) = self.notify {
            body.insert("notify".into(), json!(n));
        }
        self.client
            .send_json(
                Req::post(format!("/partners/{}/revoke", seg(&self.id))).json(Value::Object(body)),
            )
            .await
    }
}
