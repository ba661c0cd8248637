//! Webhook endpoints, deliveries and partner postbacks (API.md §3.6); platform tenants (§5).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::wire_enum;
use crate::credentials::Secret;

wire_enum! {
    /// State of a webhook delivery.
    DeliveryStatus {
        /// Not delivered yet (or waiting for an automatic retry).
        Pending = "pending",
        /// A 2xx was received.
        Delivered = "delivered",
        /// Every attempt failed.
        Failed = "failed",
    }
}

/// A webhook endpoint (the secret itself is only returned at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpoint {
    /// Endpoint id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Delivery URL.
    pub url: String,
    /// First characters of the signing secret.
    #[serde(default)]
    pub secret_prefix: Option<String>,
    /// Subscribed event types (`*` = all).
    pub events: Vec<String>,
    /// Whether deliveries are sent.
    pub active: bool,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// Creation time.
    #[serde(with = "super::ts")]
    pub created_at: DateTime<Utc>,
    /// Last delivery attempt.
    #[serde(default, with = "super::ts::option")]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// `POST /webhooks` → `{endpoint, secret}`; the `whsec_…` secret is shown only once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookEndpoint {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// Signing secret for [`crate::webhooks::verify`] (masked in `Debug`).
    pub secret: Secret,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EndpointBody {
    pub endpoint: WebhookEndpoint,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct EndpointsBody {
    pub endpoints: Vec<WebhookEndpoint>,
}

/// One delivery of an event to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDelivery {
    /// Delivery id.
    pub id: String,
    /// Endpoint.
    pub endpoint_id: String,
    /// Envelope id `evt_…` (stable across retries).
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// The exact body sent, as a JSON string.
    pub payload: String,
    /// State.
    pub status: DeliveryStatus,
    /// HTTP status of the last attempt.
    #[serde(default)]
    pub http_status: Option<u16>,
    /// Error of the last attempt (`HTTP <code>` or the transport error).
    #[serde(default)]
    pub error: Option<String>,
    /// Attempts made.
    #[serde(default)]
    pub attempts: u32,
    /// Creation time.
    #[serde(with = "super::ts")]
    pub created_at: DateTime<Utc>,
    /// When delivered.
    #[serde(default, with = "super::ts::option")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Last attempt.
    #[serde(default, with = "super::ts::option")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// \[EXT\] next automatic retry.
    #[serde(
        default,
        with = "super::ts::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DeliveriesBody {
    pub deliveries: Vec<WebhookDelivery>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DeliveryBody {
    pub delivery: WebhookDelivery,
}

wire_enum! {
    /// \[EXT\] What started a delivery attempt.
    AttemptTrigger {
        /// The first try or an automatic retry on the schedule.
        Scheduled = "scheduled",
        /// `POST /webhooks/:id/deliveries/:deliveryId/retry`.
        Manual = "manual",
    }
}

/// \[EXT\] One try of a delivery (`GET /webhooks/:id/deliveries/:deliveryId/attempts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    /// Attempt number, from 1.
    pub n: u32,
    /// Scheduled or manual.
    pub trigger: AttemptTrigger,
    /// The receiver's HTTP status (`None` when no answer came: transport error, SSRF block).
    #[serde(default)]
    pub http_status: Option<u16>,
    /// Why the attempt failed (`HTTP <code>` or the transport error), `None` on success.
    #[serde(default)]
    pub error: Option<String>,
    /// First 4 KiB of the receiver's response body.
    #[serde(default)]
    pub response_snippet: Option<String>,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: u64,
    /// When it was made.
    #[serde(with = "super::ts")]
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AttemptsBody {
    pub attempts: Vec<DeliveryAttempt>,
}

/// `POST /webhooks/:id/test` → `{delivery, event}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestDelivery {
    /// The delivery made.
    pub delivery: WebhookDelivery,
    /// The synthetic event (envelope, with `"_synthetic":true` in its data).
    pub event: serde_json::Value,
}

/// A partner postback (server-to-server GET fired on commission events).
///
/// API.md gives no row shape beyond the request fields; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Postback {
    /// Postback id.
    pub id: String,
    /// Partner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// URL template with `{macros}`.
    pub url: String,
    /// `commission.*` events.
    pub events: Vec<String>,
    /// Whether it fires.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Creation time.
    #[serde(
        default,
        with = "super::ts::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<DateTime<Utc>>,
}

fn yes() -> bool {
    true
}

/// `GET /partners/:id/postbacks` → `{postbacks, supportedEvents}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostbackList {
    /// The partner's postbacks.
    pub postbacks: Vec<Postback>,
    /// Events a postback may subscribe to.
    #[serde(default)]
    pub supported_events: Vec<String>,
}

wire_enum! {
    /// \[EXT\] State of one postback send (each send is its one try: postbacks are never
    /// retried).
    PostbackAttemptStatus {
        /// Recorded, not tried yet.
        Pending = "pending",
        /// Being sent.
        Sending = "sending",
        /// The receiver answered 2xx.
        Sent = "sent",
        /// Any other answer, a transport error or an SSRF block.
        Failed = "failed",
    }
}

/// \[EXT\] One send of a postback (`GET /partners/:id/postbacks/:postbackId/attempts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostbackAttempt {
    /// Attempt id.
    pub id: String,
    /// The event envelope id (`evt_…`) that fired it.
    pub event_id: String,
    /// The event type (`commission.*`).
    pub event_type: String,
    /// The URL requested (macros expanded and percent-encoded).
    pub url: String,
    /// Pending, sending, sent or failed.
    pub status: PostbackAttemptStatus,
    /// The receiver's HTTP status (`None` when no answer came: not tried yet, transport
    /// error, SSRF block).
    #[serde(default)]
    pub http_status: Option<u16>,
    /// Why it failed (`HTTP <code>`, the transport error or the block), `None` otherwise.
    #[serde(default)]
    pub error: Option<String>,
    /// First 4 KiB of the receiver's answer.
    #[serde(default)]
    pub response_snippet: Option<String>,
    /// How long the try took, in milliseconds (`None` while pending).
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// When the send was recorded.
    #[serde(with = "super::ts")]
    pub created_at: DateTime<Utc>,
    /// When it was tried (`None` while pending).
    #[serde(default, with = "super::ts::option")]
    pub at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PostbackAttemptsBody {
    pub attempts: Vec<PostbackAttempt>,
}

/// \[EXT\] A tenant provisioned through `/platform/tenants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    /// Tenant id.
    pub id: String,
    /// URL slug (`/t/<slug>`).
    pub slug: String,
    /// Display name.
    pub display_name: String,
    /// Reseller's external id.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Creation time.
    #[serde(with = "super::ts")]
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TenantsBody {
    pub tenants: Vec<Tenant>,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: Option<u64>,
}
