//! Links, clicks, identify and conversion events (API.md §3.3, §3.4).

use std::borrow::Borrow;

use serde_json::{json, Map, Value};

use crate::client::{seg, Client, Req, WithMeta};
use crate::error::{Error, Result};
use crate::types::{
    ClickRecorded, FlagResult, FlaggedBody, FlaggedClick, FraudFlag, IdentifyResult, Link,
    LinksBody, RecordClick, TrackEvent, TrackResult, UnflagResult,
};

/// Links handler; obtain with [`Client::links`].
#[derive(Debug, Clone)]
pub struct Links {
    pub(crate) client: Client,
}

impl Links {
    /// `GET /partners/:id/links` (admin or the partner) → newest first.
    ///
    /// Errors: 404; 401/403.
    pub async fn list(&self, partner_id: impl AsRef<str>) -> Result<Vec<Link>> {
        let body: LinksBody = self
            .client
            .send_json(Req::get(format!(
                "/partners/{}/links",
                seg(partner_id.as_ref())
            )))
            .await?;
        Ok(body.links)
    }

    /// Describes `POST /partners/:id/links {linkKey, programId, destinationUrl?}`.
    pub fn create(
        &self,
        partner_id: impl Into<String>,
        link_key: impl Into<String>,
        program_id: impl Into<String>,
    ) -> CreateLink {
        CreateLink {
            client: self.client.clone(),
            partner_id: partner_id.into(),
            link_key: link_key.into(),
            program_id: program_id.into(),
            destination_url: None,
            idempotency_key: None,
        }
    }
}

/// Builder for `POST /partners/:id/links`.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct CreateLink {
    client: Client,
    partner_id: String,
    link_key: String,
    program_id: String,
    destination_url: Option<String>,
    idempotency_key: Option<String>,
}

impl CreateLink {
    retry_setter!();
    /// Destination override (its host must be allowed by the program's deep-link domains).
    pub fn destination_url(mut self, u: impl Into<String>) -> Self {
        self.destination_url = Some(u.into());
        self
    }
    /// `Idempotency-Key` to send.
    pub fn idempotency_key(mut self, k: impl Into<String>) -> Self {
        self.idempotency_key = Some(k.into());
        self
    }
    /// Sends it → 201 link row.
    ///
    /// Errors: 404 `partner_not_found`/`campaign_not_found`; 409 `campaign_not_active`,
    /// `linkKey_taken`; 403 `campaign_not_granted`; 400 `destination_override_not_allowed`.
    pub async fn send(self) -> Result<Link> {
        let mut body = Map::new();
        body.insert("linkKey".into(), json!(self.link_key));
        body.insert("programId".into(), json!(self.program_id));
        if let Some(d) = self.destination_url {
            body.insert("destinationUrl".into(), json!(d));
        }
        self.client
            .send_json(
                Req::post(format!("/partners/{}/links", seg(&self.partner_id)))
                    .json(Value::Object(body))
                    .idempotency_key(self.idempotency_key),
            )
            .await
    }
}

/// Clicks handler; obtain with [`Client::clicks`].
#[derive(Debug, Clone)]
pub struct Clicks {
    pub(crate) client: Client,
}

impl Clicks {
    /// Describes `POST /clicks` (admin, `clicks:write`): records a click from your own
    /// redirector; finish with [`RecordClickRequest::send`].
    pub fn record(&self, click: impl Borrow<RecordClick>) -> RecordClickRequest {
        RecordClickRequest {
            client: self.client.clone(),
            body: serde_json::to_value(click.borrow())
                .map_err(|e| format!("cannot serialise click: {e}")),
        }
    }

    /// `POST /clicks/:id/flag` (admin): marks a click `manual` fraud.
    ///
    /// Errors: 404 `click_not_found`; 409 `already_flagged` (with `flag`).
    pub async fn flag(&self, click_id: impl AsRef<str>) -> Result<FlagResult> {
        self.client
            .send_json(Req::post(format!(
                "/clicks/{}/flag",
                seg(click_id.as_ref())
            )))
            .await
    }

    /// `POST /clicks/:id/unflag` (admin): clears the flag and re-attributes affected events.
    ///
    /// Errors: 404 `click_not_found`; 409 `not_flagged`.
    pub async fn unflag(&self, click_id: impl AsRef<str>) -> Result<UnflagResult> {
        self.client
            .send_json(Req::post(format!(
                "/clicks/{}/unflag",
                seg(click_id.as_ref())
            )))
            .await
    }

    /// Describes `GET /admin/clicks/flagged`.
    pub fn flagged(&self) -> ListFlagged {
        ListFlagged {
            client: self.client.clone(),
            limit: None,
            reason: None,
        }
    }
}

/// Builder for `GET /admin/clicks/flagged`.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct ListFlagged {
    client: Client,
    limit: Option<u32>,
    reason: Option<FraudFlag>,
}

impl ListFlagged {
    retry_setter!();
    /// 1–500 (server default 100).
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }
    /// Only `velocity` or `manual`.
    pub fn reason(mut self, r: FraudFlag) -> Self {
        self.reason = Some(r);
        self
    }
    /// Sends it → flagged clicks.
    ///
    /// Errors: 400 `invalid_query`; 401/403.
    pub async fn send(self) -> Result<Vec<FlaggedClick>> {
        let body: FlaggedBody = self
            .client
            .send_json(
                Req::get("/admin/clicks/flagged")
                    .query_opt("limit", self.limit)
                    .query_opt("reason", self.reason.map(|r| r.as_str().to_string())),
            )
            .await?;
        Ok(body.clicks)
    }
}

/// Conversion events handler; obtain with [`Client::events`].
#[derive(Debug, Clone)]
pub struct Events {
    pub(crate) client: Client,
}

impl Events {
    /// Describes `POST /attribution/events` (admin, `events:write`) for `event`; finish with
    /// [`TrackRequest::send`]. Without [`TrackRequest::idempotency_key`] a fresh key still
    /// protects the SDK's own retries; give one (e.g. the source row id) to make re-runs of
    /// an import idempotent too.
    pub fn track(&self, event: impl Borrow<TrackEvent>) -> TrackRequest {
        TrackRequest {
            client: self.client.clone(),
            body: serde_json::to_value(event.borrow())
                .map_err(|e| format!("cannot serialise event: {e}")),
            idempotency_key: None,
        }
    }
}

/// Builder for `POST /clicks`.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct RecordClickRequest {
    client: Client,
    body: std::result::Result<Value, String>,
}

impl RecordClickRequest {
    retry_setter!();

    /// Sends it → `{id, replayed}` with [`ResponseMeta`](crate::ResponseMeta). The same click id again is
    /// answered as a replay (`replayed: true` in the body, 200 instead of 201).
    ///
    /// Errors: 404 `link_not_found`; 400 `invalid_body`; [`Error::Config`] when the click
    /// cannot be serialised.
    pub async fn send(self) -> Result<WithMeta<ClickRecorded>> {
        let body = self.body.map_err(Error::Config)?;
        self.client
            .send_json_meta(Req::post("/clicks").json(body).deduplicated_by_route())
            .await
    }
}

/// Builder for `POST /attribution/events`.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct TrackRequest {
    client: Client,
    body: std::result::Result<Value, String>,
    idempotency_key: Option<String>,
}

impl TrackRequest {
    retry_setter!();

    /// The `Idempotency-Key` to send (1–255 printable ASCII characters). With the
    /// `idempotency` extension the same key never records the event twice: the repeat is
    /// answered from the store and [`ResponseMeta::replayed`](crate::ResponseMeta::replayed) is `true`.
    pub fn idempotency_key(mut self, k: impl Into<String>) -> Self {
        self.idempotency_key = Some(k.into());
        self
    }

    /// Sends it → `{eventId, attribution:{status, model?, touches?}}` with
    /// [`ResponseMeta`](crate::ResponseMeta) (replayed or not, request id).
    ///
    /// Errors: 400 `invalid_body`; 403 for partner keys; 422 `idempotency_key_reused` when
    /// the key was used with another body; [`Error::Config`] for an invalid key or an event
    /// that cannot be serialised.
    pub async fn send(self) -> Result<WithMeta<TrackResult>> {
        let body = self.body.map_err(Error::Config)?;
        self.client
            .send_json_meta(
                Req::post("/attribution/events")
                    .json(body)
                    .idempotency_key(self.idempotency_key),
            )
            .await
    }
}

impl Client {
    /// Links: list and create a partner's tracking links.
    pub fn links(&self) -> Links {
        Links {
            client: self.clone(),
        }
    }

    /// Clicks: record, flag, unflag, list flagged.
    pub fn clicks(&self) -> Clicks {
        Clicks {
            client: self.clone(),
        }
    }

    /// Conversion events: track (identify is [`Client::identify`]).
    pub fn events(&self) -> Events {
        Events {
            client: self.clone(),
        }
    }

    /// `POST /attribution/identify {cref, userId}`: stitches a click (`cref`) to your user.
    /// The route reads no credentials, so none are sent. A first stitch re-attributes the
    /// user's past events.
    ///
    /// Errors: 404 `click_not_found`; 400 `invalid_body`; 429 (120/min per IP).
    pub async fn identify(
        &self,
        cref: impl AsRef<str>,
        user_id: impl AsRef<str>,
    ) -> Result<IdentifyResult> {
        self.send_json(
            Req::post("/attribution/identify")
                .json(json!({ "cref": cref.as_ref(), "userId": user_id.as_ref() }))
                .no_auth()
                .deduplicated_by_route(),
        )
        .await
    }
}
