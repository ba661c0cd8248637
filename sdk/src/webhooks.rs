//! Webhook signatures and typed events (API.md §3.6): [`verify`] for receivers, [`sign`] and
//! [`delivery_headers`] for senders and tests.
//!
//! Signature = lowercase hex HMAC-SHA256 with key = the whole `whsec_…` string and message =
//! `"<timestamp>.<raw body>"`, sent in `x-openpartner-signature` with the unix-seconds
//! timestamp in `x-openpartner-timestamp`. Receivers must use the raw body bytes (not
//! re-serialised JSON) and reject timestamps more than the tolerance (300 s recommended)
//! away from now, in either direction.
//!
//! A verified delivery decodes into an [`Event`]: one arm per documented event type with its
//! typed `data` (money as [`Decimal`], never through `f64`), and [`Event::Unknown`] keeping
//! the raw JSON of any other type, so a new event type never breaks a receiver. De-duplicate
//! on [`Event::delivery_id`] (the `x-openpartner-delivery` header, stable across retries).
//!
//! ```
//! use std::time::Duration;
//! use openpartner::webhooks::{self, Event};
//! let secret = "whsec_0123456789abcdefghijklmnopqrstuv";
//! let body = br#"{"id":"evt_01","event":"partner.activated","created":"2026-11-20T10:30:00.000Z",
//!   "data":{"partnerId":"p1","email":"a@b.c","name":"A","activatedAt":"2026-11-20T10:30:00.000Z"}}"#;
//! let ts = chrono::Utc::now().timestamp();
//! let headers = webhooks::delivery_headers(secret, ts, body, "partner.activated", "evt_01");
//! let event = webhooks::verify(secret, &headers, body, Duration::from_secs(300)).unwrap();
//! assert!(matches!(&event, Event::PartnerActivated { data, .. } if data.partner_id == "p1"));
//! assert_eq!(event.delivery_id(), Some("evt_01"));
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::Sha256;

/// Header carrying the hex signature.
pub const SIGNATURE_HEADER: &str = "x-openpartner-signature";
/// Header carrying the unix-seconds timestamp.
pub const TIMESTAMP_HEADER: &str = "x-openpartner-timestamp";
/// Header carrying the event type.
pub const EVENT_HEADER: &str = "x-openpartner-event";
/// Header carrying the delivery id (`evt_…`, stable across retries: dedupe on it).
pub const DELIVERY_HEADER: &str = "x-openpartner-delivery";
/// `user-agent` of the server's deliveries.
pub const USER_AGENT: &str = "OpenPartner-Webhooks/1";
/// Recommended tolerance: 300 s.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

type HmacSha256 = Hmac<Sha256>;

/// Which check a delivery failed. Never contains the secret or the signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A required header is absent, empty or not text.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// A header is present but malformed (timestamp not an integer, signature not hex).
    #[error("malformed header {0}")]
    MalformedHeader(&'static str),
    /// The timestamp is further from now than the tolerance, in the past or the future
    /// (replay protection).
    #[error("timestamp outside tolerance: {skew_secs} s in the {}", if *.in_future { "future" } else { "past" })]
    TimestampOutsideTolerance {
        /// Absolute distance from now, in seconds.
        skew_secs: u64,
        /// Whether the timestamp lies ahead of the receiver's clock.
        in_future: bool,
    },
    /// The signature does not match the body (tampered body, wrong secret, …).
    #[error("signature mismatch")]
    BadSignature,
    /// The signature is genuine but the body is not a webhook envelope, or the `data` of a
    /// documented event type does not have its documented shape.
    #[error("malformed webhook body: {0}")]
    MalformedBody(String),
}

/// Computes the signature: lowercase hex HMAC-SHA256(key = `secret`, `"<timestamp>.<raw body>"`).
pub fn sign(secret: &str, timestamp: i64, raw_body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, raw_body).finalize().into_bytes())
}

/// The headers the server sends with a delivery (§3.6): `content-type`, `user-agent`,
/// timestamp, [`sign`]ature, event type and delivery id. For tests and home-made senders.
///
/// Panics only if `event` or `delivery_id` contain bytes not allowed in a header value.
pub fn delivery_headers(
    secret: &str,
    timestamp: i64,
    raw_body: &[u8],
    event: &str,
    delivery_id: &str,
) -> http::HeaderMap {
    let value = |s: &str| http::HeaderValue::from_str(s).expect("header value");
    let mut h = http::HeaderMap::new();
    h.insert(http::header::CONTENT_TYPE, value("application/json"));
    h.insert(http::header::USER_AGENT, value(USER_AGENT));
    h.insert(TIMESTAMP_HEADER, value(&timestamp.to_string()));
    h.insert(SIGNATURE_HEADER, value(&sign(secret, timestamp, raw_body)));
    h.insert(EVENT_HEADER, value(event));
    h.insert(DELIVERY_HEADER, value(delivery_id));
    h
}

fn mac(secret: &str, timestamp: i64, raw_body: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut m = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable_hmac(),
    };
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(raw_body);
    m
}

#[cold]
fn unreachable_hmac() -> HmacSha256 {
    // HMAC's key-length error only exists for fixed-key MACs; fall back to an empty key
    // (verification then simply fails).
    <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default())
}

/// Verifies a delivery against the current clock and decodes it; see [`verify_at`].
///
/// Errors: [`VerifyError`] naming the failed check.
pub fn verify(
    secret: &str,
    headers: &http::HeaderMap,
    raw_body: &[u8],
    tolerance: Duration,
) -> Result<Event, VerifyError> {
    verify_at(secret, headers, raw_body, tolerance, Utc::now().timestamp())
}

/// Verifies a delivery as of `now_unix` (unix seconds): both headers present and well formed,
/// timestamp within `tolerance` of `now_unix` in either direction, signature equal
/// (constant-time, `hmac::Mac::verify_slice`) to [`sign`] of the raw body; then decodes the
/// envelope into an [`Event`].
///
/// Errors: [`VerifyError`] for the first failed check, in that order.
pub fn verify_at(
    secret: &str,
    headers: &http::HeaderMap,
    raw_body: &[u8],
    tolerance: Duration,
    now_unix: i64,
) -> Result<Event, VerifyError> {
    check(secret, headers, raw_body, Some((tolerance, now_unix)))
}

/// Verifies the signature of a delivery WITHOUT the timestamp check, then decodes it: only
/// for replaying stored deliveries (fixtures, the `payload` of a delivery row) in tests. A
/// receiver serving real traffic must use [`verify`], or old deliveries can be replayed.
///
/// Errors: [`VerifyError`] (never [`VerifyError::TimestampOutsideTolerance`]).
pub fn verify_ignoring_timestamp(
    secret: &str,
    headers: &http::HeaderMap,
    raw_body: &[u8],
) -> Result<Event, VerifyError> {
    check(secret, headers, raw_body, None)
}

fn check(
    secret: &str,
    headers: &http::HeaderMap,
    raw_body: &[u8],
    window: Option<(Duration, i64)>,
) -> Result<Event, VerifyError> {
    let ts_text = header(headers, TIMESTAMP_HEADER)?;
    let sig_text = header(headers, SIGNATURE_HEADER)?;
    let ts: i64 = ts_text
        .parse()
        .map_err(|_| VerifyError::MalformedHeader(TIMESTAMP_HEADER))?;
    if let Some((tolerance, now)) = window {
        let skew_secs = now.abs_diff(ts);
        if skew_secs > tolerance.as_secs() {
            return Err(VerifyError::TimestampOutsideTolerance {
                skew_secs,
                in_future: ts > now,
            });
        }
    }
    let sig_text = sig_text.strip_prefix("sha256=").unwrap_or(sig_text);
    let sig = hex::decode(sig_text).map_err(|_| VerifyError::MalformedHeader(SIGNATURE_HEADER))?;
    mac(secret, ts, raw_body)
        .verify_slice(&sig)
        .map_err(|_| VerifyError::BadSignature)?;
    let delivery_id = header(headers, DELIVERY_HEADER).ok().map(str::to_owned);
    Event::decode(raw_body, delivery_id)
}

fn header<'h>(headers: &'h http::HeaderMap, name: &'static str) -> Result<&'h str, VerifyError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(VerifyError::MissingHeader(name))
}

/// Envelope fields every event has: `{"id":"evt_…","event","created",…}` plus the delivery id
/// header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    /// Envelope id `evt_<ULID>`.
    pub id: String,
    /// Creation time (ISO-8601 on the wire; unix seconds or milliseconds are accepted too).
    pub created: DateTime<Utc>,
    /// The `x-openpartner-delivery` header (`evt_…`, the same on every retry), when present.
    pub delivery_id: Option<String>,
}

/// A verified webhook delivery, by event type (API.md §3.6).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `partner.created`.
    PartnerCreated {
        /// Envelope.
        meta: EventMeta,
        /// Data.
        data: PartnerCreated,
    },
    /// `partner.activated`.
    PartnerActivated {
        /// Envelope.
        meta: EventMeta,
        /// Data.
        data: PartnerActivated,
    },
    /// `attribution.created`.
    AttributionCreated {
        /// Envelope.
        meta: EventMeta,
        /// Data.
        data: AttributionCreated,
    },
    /// `commission.accrued`.
    CommissionAccrued {
        /// Envelope.
        meta: EventMeta,
        /// Data.
        data: CommissionAccrued,
    },
    /// `commission.approved`.
    CommissionApproved {
        /// Envelope.
        meta: EventMeta,
        /// Data.
        data: CommissionApproved,
    },
    /// `commission.reversed`.
    CommissionReversed {
        /// Envelope.
        meta: EventMeta,
        /// Data.
        data: CommissionReversed,
    },
    /// `commission.paid`.
    CommissionPaid {
        /// Envelope.
        meta: EventMeta,
        /// Data.
        data: CommissionPaid,
    },
    /// `payout.created`.
    PayoutCreated {
        /// Envelope.
        meta: EventMeta,
        /// Data.
        data: PayoutCreated,
    },
    /// A synthetic event from `POST /webhooks/:id/test`: type `webhook.test`, or the type
    /// named with `?event=` (e.g. `commission.paid`). Its data is `{"_synthetic":true}`,
    /// never the named type's shape, so a receiver never mistakes a test ping for a real
    /// commission or payout: any delivery whose data has `"_synthetic":true` lands here.
    WebhookTest {
        /// Envelope.
        meta: EventMeta,
        /// The event type as sent (`webhook.test` unless the ping named another).
        event: String,
        /// Data.
        data: WebhookTest,
    },
    /// Any other event type: a type added after this SDK was built never breaks a receiver.
    Unknown {
        /// Envelope.
        meta: EventMeta,
        /// The event type, e.g. `program.created`.
        event: String,
        /// The whole envelope as received (`raw["data"]` is the data).
        raw: serde_json::Value,
    },
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    event: String,
    #[serde(deserialize_with = "de_created")]
    created: DateTime<Utc>,
    #[serde(default)]
    data: serde_json::Value,
}

fn de_created<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    use serde::de::Error;
    let v = serde_json::Value::deserialize(d)?;
    match &v {
        serde_json::Value::String(s) => s.parse::<DateTime<Utc>>().map_err(D::Error::custom),
        serde_json::Value::Number(n) => {
            let n = n
                .as_i64()
                .ok_or_else(|| D::Error::custom("invalid created timestamp"))?;
            let dt = if n > 100_000_000_000 {
                DateTime::from_timestamp_millis(n)
            } else {
                DateTime::from_timestamp(n, 0)
            };
            dt.ok_or_else(|| D::Error::custom("invalid created timestamp"))
        }
        _ => Err(D::Error::custom("invalid created timestamp")),
    }
}

fn data<T: DeserializeOwned>(event: &str, v: serde_json::Value) -> Result<T, VerifyError> {
    serde_path_to_error::deserialize(v)
        .map_err(|e| VerifyError::MalformedBody(format!("{event} data: {e}")))
}

impl Event {
    /// Decodes an envelope (already verified) into its arm; `delivery_id` is the
    /// `x-openpartner-delivery` header. Numbers keep their exact text (money never goes
    /// through `f64`).
    ///
    /// Errors: [`VerifyError::MalformedBody`] when the body is not an envelope or the data of
    /// a documented type lacks its documented fields.
    pub fn decode(raw_body: &[u8], delivery_id: Option<String>) -> Result<Event, VerifyError> {
        let raw: serde_json::Value = serde_json::from_slice(raw_body)
            .map_err(|e| VerifyError::MalformedBody(e.to_string()))?;
        let env: Envelope = serde_path_to_error::deserialize(&raw)
            .map_err(|e| VerifyError::MalformedBody(e.to_string()))?;
        let meta = EventMeta {
            id: env.id,
            created: env.created,
            delivery_id,
        };
        let d = env.data;
        if env.event == "webhook.test"
            || d.get("_synthetic") == Some(&serde_json::Value::Bool(true))
        {
            return Ok(Event::WebhookTest {
                data: data(&env.event, d)?,
                meta,
                event: env.event,
            });
        }
        let ev = env.event.as_str();
        Ok(match ev {
            "partner.created" => Event::PartnerCreated {
                meta,
                data: data(ev, d)?,
            },
            "partner.activated" => Event::PartnerActivated {
                meta,
                data: data(ev, d)?,
            },
            "attribution.created" => Event::AttributionCreated {
                meta,
                data: data(ev, d)?,
            },
            "commission.accrued" => Event::CommissionAccrued {
                meta,
                data: data(ev, d)?,
            },
            "commission.approved" => Event::CommissionApproved {
                meta,
                data: data(ev, d)?,
            },
            "commission.reversed" => Event::CommissionReversed {
                meta,
                data: data(ev, d)?,
            },
            "commission.paid" => Event::CommissionPaid {
                meta,
                data: data(ev, d)?,
            },
            "payout.created" => Event::PayoutCreated {
                meta,
                data: data(ev, d)?,
            },
            _ => Event::Unknown {
                meta,
                event: env.event,
                raw,
            },
        })
    }

    /// The envelope fields.
    pub fn meta(&self) -> &EventMeta {
        match self {
            Event::PartnerCreated { meta, .. }
            | Event::PartnerActivated { meta, .. }
            | Event::AttributionCreated { meta, .. }
            | Event::CommissionAccrued { meta, .. }
            | Event::CommissionApproved { meta, .. }
            | Event::CommissionReversed { meta, .. }
            | Event::CommissionPaid { meta, .. }
            | Event::PayoutCreated { meta, .. }
            | Event::WebhookTest { meta, .. }
            | Event::Unknown { meta, .. } => meta,
        }
    }

    /// The envelope id `evt_…`.
    pub fn id(&self) -> &str {
        &self.meta().id
    }

    /// The `x-openpartner-delivery` header (the same on every retry of a delivery): the key
    /// to de-duplicate on. `None` when the header was absent.
    pub fn delivery_id(&self) -> Option<&str> {
        self.meta().delivery_id.as_deref()
    }

    /// The event type as on the wire, e.g. `commission.paid`.
    pub fn event_type(&self) -> &str {
        match self {
            Event::PartnerCreated { .. } => "partner.created",
            Event::PartnerActivated { .. } => "partner.activated",
            Event::AttributionCreated { .. } => "attribution.created",
            Event::CommissionAccrued { .. } => "commission.accrued",
            Event::CommissionApproved { .. } => "commission.approved",
            Event::CommissionReversed { .. } => "commission.reversed",
            Event::CommissionPaid { .. } => "commission.paid",
            Event::PayoutCreated { .. } => "payout.created",
            Event::WebhookTest { event, .. } | Event::Unknown { event, .. } => event,
        }
    }
}

/// Data of a synthetic event ([`Event::WebhookTest`]): `{"_synthetic":true, …}`; other
/// fields the server adds are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookTest {
    /// Always `true`: the event was made up by `POST /webhooks/:id/test`.
    #[serde(rename = "_synthetic", default)]
    pub synthetic: bool,
    /// Any other fields of the data.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

/// `commission.accrued` data (amounts are decimal strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommissionAccrued {
    /// Commission.
    pub commission_id: String,
    /// Partner.
    pub partner_id: String,
    /// Attribution.
    pub attribution_id: String,
    /// Click.
    #[serde(default)]
    pub click_id: Option<String>,
    /// Event.
    pub event_id: String,
    /// Program.
    #[serde(default)]
    pub program_id: Option<String>,
    /// Amount.
    #[serde(with = "crate::money::string")]
    pub amount: Decimal,
    /// Currency.
    pub currency: String,
    /// Event type.
    pub event_type: String,
    /// Event value.
    #[serde(default, with = "crate::money::string_opt")]
    pub event_value: Option<Decimal>,
}

/// `commission.approved` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommissionApproved {
    /// Commission.
    pub commission_id: String,
    /// Partner.
    pub partner_id: String,
    /// Amount.
    #[serde(with = "crate::money::string")]
    pub amount: Decimal,
    /// Currency.
    pub currency: String,
    /// Attribution.
    #[serde(default)]
    pub attribution_id: Option<String>,
}

/// `commission.reversed` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommissionReversed {
    /// Commission.
    pub commission_id: String,
    /// Partner.
    pub partner_id: String,
    /// Amount.
    #[serde(with = "crate::money::string")]
    pub amount: Decimal,
    /// Currency.
    pub currency: String,
}

/// `commission.paid` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommissionPaid {
    /// Commission.
    pub commission_id: String,
    /// Partner.
    pub partner_id: String,
    /// Amount.
    #[serde(with = "crate::money::string")]
    pub amount: Decimal,
    /// Currency.
    pub currency: String,
    /// Payout.
    pub payout_id: String,
}

/// `payout.created` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutCreated {
    /// Payout.
    pub payout_id: String,
    /// Partner.
    pub partner_id: String,
    /// Amount.
    #[serde(with = "crate::money::string")]
    pub amount: Decimal,
    /// Currency.
    pub currency: String,
    /// Method (`manual`, …).
    pub method: String,
    /// Commissions paid by it.
    #[serde(default)]
    pub commission_ids: Vec<String>,
}

/// `partner.created` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerCreated {
    /// Partner.
    pub partner_id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Activation time (`None` while invited).
    #[serde(default, with = "crate::types::ts::option")]
    pub activated_at: Option<DateTime<Utc>>,
    /// Whether an invite was sent.
    #[serde(default)]
    pub invited: bool,
    /// Programs granted.
    #[serde(default)]
    pub program_ids: Vec<String>,
}

/// `partner.activated` data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerActivated {
    /// Partner.
    pub partner_id: String,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Activation time.
    #[serde(with = "crate::types::ts")]
    pub activated_at: DateTime<Utc>,
}

/// `attribution.created` data (`weight` is a JSON number, `eventValue` a decimal string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributionCreated {
    /// Attribution.
    pub attribution_id: String,
    /// Event.
    pub event_id: String,
    /// Partner.
    pub partner_id: String,
    /// Program.
    pub program_id: String,
    /// Click.
    pub click_id: String,
    /// Model.
    pub model: crate::types::AttributionModel,
    /// Stored weight.
    #[serde(with = "crate::money::number")]
    pub weight: Decimal,
    /// Event type.
    pub event_type: String,
    /// Event value.
    #[serde(default, with = "crate::money::string_opt")]
    pub event_value: Option<Decimal>,
    /// Commission written, if any.
    #[serde(default)]
    pub commission_id: Option<String>,
    /// Its currency.
    #[serde(default)]
    pub commission_currency: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_abcdefghijklmnopqrstuvwxyz012345";

    #[test]
    fn sign_matches_reference_hmac() {
        // Independent computation with the same primitives and the documented message.
        let mut m = HmacSha256::new_from_slice(SECRET.as_bytes()).unwrap();
        m.update(b"1700000000.{\"a\":1}");
        let want = hex::encode(m.finalize().into_bytes());
        let got = sign(SECRET, 1_700_000_000, b"{\"a\":1}");
        assert_eq!(got, want);
        assert_eq!(got.len(), 64);
        assert_eq!(got, got.to_lowercase());
    }

    #[test]
    fn a_synthetic_event_of_a_documented_type_is_a_test_ping_not_a_commission() {
        // What `POST /webhooks/:id/test?event=commission.paid` sends: the type's name with
        // data `{"_synthetic":true}` only.
        let body = br#"{"id":"evt_1","event":"commission.paid","created":"2026-11-20T10:30:00.000Z","data":{"_synthetic":true}}"#;
        match Event::decode(body, Some("evt_1".into())).expect("decodes") {
            Event::WebhookTest { event, data, meta } => {
                assert_eq!(event, "commission.paid");
                assert!(data.synthetic);
                assert_eq!(meta.delivery_id.as_deref(), Some("evt_1"));
            }
            other => panic!("not a test ping: {other:?}"),
        }
        let ping = br#"{"id":"evt_2","event":"webhook.test","created":"2026-11-20T10:30:00.000Z","data":{"_synthetic":true}}"#;
        let e = Event::decode(ping, None).expect("decodes");
        assert_eq!(e.event_type(), "webhook.test");
        assert!(matches!(e, Event::WebhookTest { .. }));
        // Real data of the type still decodes into its own arm.
        let real = br#"{"id":"evt_3","event":"commission.paid","created":"2026-11-20T10:30:00.000Z","data":{"commissionId":"c","partnerId":"p","amount":"1.50","currency":"USD","payoutId":"po"}}"#;
        assert!(matches!(
            Event::decode(real, None).expect("decodes"),
            Event::CommissionPaid { .. }
        ));
    }
}
