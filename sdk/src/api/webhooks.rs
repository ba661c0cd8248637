//! `client.webhooks()`: webhook endpoints and deliveries; partner postbacks (API.md §3.6).
//! Signature checking lives in [`crate::webhooks`].

use serde_json::{json, Map, Value};

use crate::client::{seg, Client, Req};
use crate::error::Result;
use crate::types::{
    AttemptsBody, CreatedWebhookEndpoint, DeliveriesBody, DeliveryAttempt, DeliveryBody,
    EndpointBody, EndpointsBody, Postback, PostbackAttempt, PostbackAttemptsBody, PostbackList,
    TestDelivery, WebhookDelivery, WebhookEndpoint,
};

use super::partners::Partners;

/// Webhook endpoints handler; obtain with [`Client::webhooks`].
#[derive(Debug, Clone)]
pub struct WebhookEndpoints {
    pub(crate) client: Client,
}

impl Client {
    /// Webhook endpoints: create, list, get, update, delete, deliveries, attempts, retry, test.
    pub fn webhooks(&self) -> WebhookEndpoints {
        WebhookEndpoints {
            client: self.clone(),
        }
    }
}

impl WebhookEndpoints {
    /// Describes `POST /webhooks {url, events, label?}` (admin, `webhooks:write`).
    /// `events` are event types such as `commission.accrued`, or `*`.
    pub fn create(&self, url: impl Into<String>, events: Vec<String>) -> CreateEndpoint {
        CreateEndpoint {
            client: self.client.clone(),
            url: url.into(),
            events,
            label: None,
        }
    }

    /// `GET /webhooks` (admin) → every endpoint.
    ///
    /// Errors: 401/403.
    pub async fn list(&self) -> Result<Vec<WebhookEndpoint>> {
        let b: EndpointsBody = self.client.send_json(Req::get("/webhooks")).await?;
        Ok(b.endpoints)
    }

    /// `GET /webhooks/:id` (admin). Errors: 404.
    pub async fn get(&self, id: impl AsRef<str>) -> Result<WebhookEndpoint> {
        let b: EndpointBody = self
            .client
            .send_json(Req::get(format!("/webhooks/{}", seg(id.as_ref()))))
            .await?;
        Ok(b.endpoint)
    }

    /// Describes `PATCH /webhooks/:id {url?, events?, label?, active?}` (admin).
    pub fn update(&self, id: impl Into<String>) -> UpdateEndpoint {
        UpdateEndpoint {
            client: self.client.clone(),
            id: id.into(),
            fields: Map::new(),
        }
    }

    /// `DELETE /webhooks/:id[?hard=1]` (admin, `webhooks:write`): soft delete sets
    /// `active:false`; `hard` removes it. Errors: 404.
    pub async fn delete(&self, id: impl AsRef<str>, hard: bool) -> Result<()> {
        let req = Req::delete(format!("/webhooks/{}", seg(id.as_ref())));
        let req = if hard { req.query("hard", "1") } else { req };
        self.client.send_unit(req).await
    }

    /// `GET /webhooks/:id/deliveries` (admin) → the newest 100 deliveries.
    pub async fn deliveries(&self, id: impl AsRef<str>) -> Result<Vec<WebhookDelivery>> {
        let b: DeliveriesBody = self
            .client
            .send_json(Req::get(format!(
                "/webhooks/{}/deliveries",
                seg(id.as_ref())
            )))
            .await?;
        Ok(b.deliveries)
    }

    /// \[EXT\] `GET /webhooks/:id/deliveries/:deliveryId/attempts` (admin) → the attempt log
    /// of a delivery, oldest first (number, trigger, status, error, response snippet,
    /// duration).
    ///
    /// Errors: 404 (endpoint or delivery); 400 `endpoint_mismatch` when the delivery belongs
    /// to another endpoint; 401/403.
    pub async fn attempts(
        &self,
        id: impl AsRef<str>,
        delivery_id: impl AsRef<str>,
    ) -> Result<Vec<DeliveryAttempt>> {
        let b: AttemptsBody = self
            .client
            .send_json(Req::get(format!(
                "/webhooks/{}/deliveries/{}/attempts",
                seg(id.as_ref()),
                seg(delivery_id.as_ref())
            )))
            .await?;
        Ok(b.attempts)
    }

    /// `POST /webhooks/:id/deliveries/:deliveryId/retry` (admin): resends the same body with
    /// a fresh timestamp and signature.
    ///
    /// Errors: 400 `endpoint_mismatch`; 404.
    pub async fn retry_delivery(
        &self,
        id: impl AsRef<str>,
        delivery_id: impl AsRef<str>,
    ) -> Result<WebhookDelivery> {
        let b: DeliveryBody = self
            .client
            .send_json(Req::post(format!(
                "/webhooks/{}/deliveries/{}/retry",
                seg(id.as_ref()),
                seg(delivery_id.as_ref())
            )))
            .await?;
        Ok(b.delivery)
    }

    /// `POST /webhooks/:id/test[?event=<type>]` (admin): sends a synthetic event (default
    /// type `webhook.test`).
    ///
    /// Errors: 400 `endpoint_inactive`; 404.
    pub async fn test(&self, id: impl AsRef<str>, event: Option<&str>) -> Result<TestDelivery> {
        self.client
            .send_json(
                Req::post(format!("/webhooks/{}/test", seg(id.as_ref()))).query_opt("event", event),
            )
            .await
    }
}

/// Builder for `POST /webhooks`.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct CreateEndpoint {
    client: Client,
    url: String,
    events: Vec<String>,
    label: Option<String>,
}

impl CreateEndpoint {
    retry_setter!();
    /// Label (≤ 80 chars).
    pub fn label(mut self, l: impl Into<String>) -> Self {
        self.label = Some(l.into());
        self
    }
    /// Sends it → 201 `{endpoint, secret}` (the secret is shown only once).
    ///
    /// Errors: 400 `invalid_body`; 401/403.
    pub async fn send(self) -> Result<CreatedWebhookEndpoint> {
        let mut body = Map::new();
        body.insert("url".into(), json!(self.url));
        body.insert("events".into(), json!(self.events));
        if let Some(l) = self.label {
            body.insert("label".into(), json!(l));
        }
        self.client
            .send_json(Req::post("/webhooks").json(Value::Object(body)))
            .await
    }
}

/// Builder for `PATCH /webhooks/:id`.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct UpdateEndpoint {
    client: Client,
    id: String,
    fields: Map<String, Value>,
}

impl UpdateEndpoint {
    retry_setter!();
    /// New URL.
    pub fn url(mut self, u: impl Into<String>) -> Self {
        self.fields.insert("url".into(), json!(u.into()));
        self
    }
    /// New event list.
    pub fn events(mut self, e: Vec<String>) -> Self {
        self.fields.insert("events".into(), json!(e));
        self
    }
    /// New label.
    pub fn label(mut self, l: impl Into<String>) -> Self {
        self.fields.insert("label".into(), json!(l.into()));
        self
    }
    /// Removes the label (`"label": null`).
    pub fn clear_label(mut self) -> Self {
        self.fields.insert("label".into(), Value::Null);
        self
    }
    /// Enable or disable.
    pub fn active(mut self, a: bool) -> Self {
        self.fields.insert("active".into(), json!(a));
        self
    }
    /// Sends it → the updated endpoint. Errors: 400 `invalid_body`; 404.
    pub async fn send(self) -> Result<WebhookEndpoint> {
        let b: EndpointBody = self
            .client
            .send_json(
                Req::new(http::Method::PATCH, format!("/webhooks/{}", seg(&self.id)))
                    .json(Value::Object(self.fields)),
            )
            .await?;
        Ok(b.endpoint)
    }
}

impl Partners {
    /// `GET /partners/:id/postbacks` (admin or the partner).
    pub async fn postbacks(&self, partner_id: impl AsRef<str>) -> Result<PostbackList> {
        self.client
            .send_json(Req::get(format!(
                "/partners/{}/postbacks",
                seg(partner_id.as_ref())
            )))
            .await
    }

    /// `POST /partners/:id/postbacks {url, events, enabled?}` → 201 row. `events`: 1–10
    /// `commission.*` types.
    ///
    /// Errors: 400 `invalid_body`; 404.
    pub async fn create_postback(
        &self,
        partner_id: impl AsRef<str>,
        url: impl Into<String>,
        events: Vec<String>,
        enabled: Option<bool>,
    ) -> Result<Postback> {
        let mut body = Map::new();
        body.insert("url".into(), json!(url.into()));
        body.insert("events".into(), json!(events));
        if let Some(e) = enabled {
            body.insert("enabled".into(), json!(e));
        }
        self.client
            .send_json(
                Req::post(format!("/partners/{}/postbacks", seg(partner_id.as_ref())))
                    .json(Value::Object(body)),
            )
            .await
    }

    /// `PATCH /partners/:id/postbacks/:postbackId` with the given fields (`url`, `events`,
    /// `enabled`) → the row.
    ///
    /// Errors: 404 `postback_not_found`; 400 `invalid_body`.
    pub async fn update_postback(
        &self,
        partner_id: impl AsRef<str>,
        postback_id: impl AsRef<str>,
        url: Option<String>,
        events: Option<Vec<String>>,
        enabled: Option<bool>,
    ) -> Result<Postback> {
        let mut body = Map::new();
        if let Some(u) = url {
            body.insert("url".into(), json!(u));
        }
        if let Some(e) = events {
            body.insert("events".into(), json!(e));
        }
        if let Some(e) = enabled {
            body.insert("enabled".into(), json!(e));
        }
        self.client
            .send_json(
                Req::new(
                    http::Method::PATCH,
                    format!(
                        "/partners/{}/postbacks/{}",
                        seg(partner_id.as_ref()),
                        seg(postback_id.as_ref())
                    ),
                )
                .json(Value::Object(body)),
            )
            .await
    }

    /// `DELETE /partners/:id/postbacks/:postbackId` → 204. Errors: 404 `postback_not_found`.
    pub async fn delete_postback(
        &self,
        partner_id: impl AsRef<str>,
        postback_id: impl AsRef<str>,
    ) -> Result<()> {
        self.client
            .send_unit(Req::delete(format!(
                "/partners/{}/postbacks/{}",
                seg(partner_id.as_ref()),
                seg(postback_id.as_ref())
            )))
            .await
    }

    /// \[EXT\] `GET /partners/:id/postbacks/:postbackId/attempts` (admin or the partner) →
    /// the postback's sends, oldest first, each with its one try's outcome (status, HTTP
    /// status, error, response snippet, duration); postbacks are never retried.
    ///
    /// Errors: 404 `postback_not_found` / `partner_not_found` (or `route_not_found` from a
    /// server without the extension); 401/403.
    pub async fn postback_attempts(
        &self,
        partner_id: impl AsRef<str>,
        postback_id: impl AsRef<str>,
    ) -> Result<Vec<PostbackAttempt>> {
        let b: PostbackAttemptsBody = self
            .client
            .send_json(Req::get(format!(
                "/partners/{}/postbacks/{}/attempts",
                seg(partner_id.as_ref()),
                seg(postback_id.as_ref())
            )))
            .await?;
        Ok(b.attempts)
    }
}
