//! Webhook signatures (API.md §3.6): [`sign`] for senders and tests, [`verify`] for receivers.
//!
//! Signature = lowercase hex HMAC-SHA256 with key = the whole `whsec_…` string and message =
//! `"<timestamp>.<raw body>"`, sent in `x-openpartner-signature` with the unix-seconds
//! timestamp in `x-openpartner-timestamp`. Receivers must use the raw body bytes (not
//! re-serialised JSON) and reject timestamps more than the tolerance (300 s recommended)
//! away from now.
//!
//! ```
//! use std::time::Duration;
//! use openpartner::webhooks::{self, EventData};
//! let secret = "whsec_0123456789abcdefghijklmnopqrstuv";
//! let body = br#"{"id":"evt_01","event":"partner.activated","created":"2026-11-20T10:30:00.000Z",
//!   "data":{"partnerId":"p1","email":"a@b.c","name":"A","activatedAt":"2026-11-20T10:30:00.000Z"}}"#;
//! let ts = chrono::Utc::now().timestamp();
//! let mut headers = http::HeaderMap::new();
//! headers.insert(webhooks::TIMESTAMP_HEADER, ts.to_string().parse().unwrap());
//! headers.insert(webhooks::SIGNATURE_HEADER, webhooks::sign(secret, ts, body).parse().unwrap());
//! let event = webhooks::verify(secret, &headers, body, Duration::from_secs(300)).unwrap();
//! assert!(matches!(event.typed().unwrap(), EventData::PartnerActivated(_)));
//! ```

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
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
/// Recommended tolerance: 300 s.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

type HmacSha256 = Hmac<Sha256>;

/// Why a webhook was rejected. Never contains the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A required header is absent or not text.
    #[error("missing or unreadable header {0}")]
    MissingHeader(&'static str),
    /// The timestamp header is not an integer.
    #[error("invalid timestamp header")]
    InvalidTimestamp,
    /// The timestamp is further from now than the tolerance (replay protection).
    #[error("timestamp outside tolerance ({skew_secs} s away)")]
    TimestampOutOfTolerance {
        /// Absolute distance from now, in seconds.
        skew_secs: u64,
    },
    /// The signature does not match the body.
    #[error("signature mismatch")]
    BadSignature,
    /// The signed body is not a valid webhook envelope.
    #[error("invalid webhook body: {0}")]
    InvalidBody(String),
}

/// Computes the signature: lowercase hex HMAC-SHA256(key = `secret`, `"<timestamp>.<raw body>"`).
pub fn sign(secret: &str, timestamp: i64, raw_body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, raw_body).finalize().into_bytes())
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

/// Verifies a delivery against the current clock; see [`verify_at`].
pub fn verify(
    secret: &str,
    headers: &http::HeaderMap,
    raw_body: &[u8],
    tolerance: Duration,
) -> Result<WebhookEvent, WebhookError> {
    verify_at(secret, headers, raw_body, tolerance, Utc::now().timestamp())
}

/// Verifies a delivery: both headers present, timestamp within `tolerance` of `now_unix`,
/// signature equal (constant-time) to [`sign`] of the raw body; then parses the envelope.
///
/// Errors: [`WebhookError`] for each failed check, in that order.
pub fn verify_at(
    secret: &str,
    headers: &http::HeaderMap,
    raw_body: &[u8],
    tolerance: Duration,
    now_unix: i64,
) -> Result<WebhookEvent, WebhookError> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(WebhookError::MissingHeader(name))
    };
    let ts_text = header(TIMESTAMP_HEADER)?;
    let sig_text = header(SIGNATURE_HEADER)?;
    let ts: i64 = ts_text
        .parse()
        .map_err(|_| WebhookError::InvalidTimestamp)?;
    let skew = now_unix.abs_diff(ts);
    if skew > tolerance.as_secs() {
        return Err(WebhookError::TimestampOutOfTolerance { skew_secs: skew });
    }
    let sig_text = sig_text.strip_prefix("sha256=").unwrap_or(sig_text);
    let sig = hex::decode(sig_text).map_err(|_| WebhookError::BadSignature)?;
    mac(secret, ts, raw_body)
        .verify_slice(&sig)
        .map_err(|_| WebhookError::BadSignature)?;
    serde_json::from_slice(raw_body).map_err(|e| WebhookError::InvalidBody(e.to_string()))
}

/// The webhook envelope `{"id":"evt_…","event","created","data":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// Delivery/event id `evt_<ULID>`.
    pub id: String,
    /// Event type, e.g. `commission.accrued`.
    pub event: String,
    /// Creation time (ISO-8601; unix seconds or milliseconds are accepted too).
    #[serde(
        deserialize_with = "de_created",
        serialize_with = "crate::types::ts::serialize"
    )]
    pub created: DateTime<Utc>,
    /// The event's data object.
    #[serde(default)]
    pub data: serde_json::Value,
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

impl WebhookEvent {
    /// Decodes `data` by `event` type into [`EventData`]; unknown types (e.g. `webhook.test`)
    /// give [`EventData::Other`].
    ///
    /// Errors: the data does not match the documented shape of its event type.
    pub fn typed(&self) -> Result<EventData, serde_json::Error> {
        let d = self.data.clone();
        Ok(match self.event.as_str() {
            "attribution.created" => EventData::AttributionCreated(serde_json::from_value(d)?),
            "commission.accrued" => EventData::CommissionAccrued(serde_json::from_value(d)?),
            "commission.approved" => EventData::CommissionApproved(serde_json::from_value(d)?),
            "commission.reversed" => EventData::CommissionReversed(serde_json::from_value(d)?),
            "commission.paid" => EventData::CommissionPaid(serde_json::from_value(d)?),
            "payout.created" => EventData::PayoutCreated(serde_json::from_value(d)?),
            "partner.created" => EventData::PartnerCreated(serde_json::from_value(d)?),
            "partner.activated" => EventData::PartnerActivated(serde_json::from_value(d)?),
            _ => EventData::Other(d),
        })
    }
}

/// Typed `data` of the documented events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventData {
    /// `attribution.created`.
    AttributionCreated(AttributionCreated),
    /// `commission.accrued`.
    CommissionAccrued(CommissionAccrued),
    /// `commission.approved`.
    CommissionApproved(CommissionApproved),
    /// `commission.reversed`.
    CommissionReversed(CommissionReversed),
    /// `commission.paid`.
    CommissionPaid(CommissionPaid),
    /// `payout.created`.
    PayoutCreated(PayoutCreated),
    /// `partner.created`.
    PartnerCreated(PartnerCreated),
    /// `partner.activated`.
    PartnerActivated(PartnerActivated),
    /// Any other event type (e.g. `webhook.test`).
    Other(serde_json::Value),
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
    use std::str::FromStr;

    const SECRET: &str = "whsec_abcdefghijklmnopqrstuvwxyz012345";

    fn headers(ts: &str, sig: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, ts.parse().unwrap());
        h.insert(SIGNATURE_HEADER, sig.parse().unwrap());
        h
    }

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
    fn verify_accepts_and_rejects() {
        let body = br#"{"id":"evt_1","event":"commission.accrued","created":"2026-11-20T10:30:00.000Z","data":{"commissionId":"c1","partnerId":"p1","attributionId":"a1","clickId":"k1","eventId":"e1","programId":"g1","amount":"40.00","currency":"USD","eventType":"sale","eventValue":"200.00"}}"#;
        let now = 1_800_000_000;
        let sig = sign(SECRET, now, body);
        let ev = verify_at(
            SECRET,
            &headers(&now.to_string(), &sig),
            body,
            DEFAULT_TOLERANCE,
            now + 10,
        )
        .unwrap();
        assert_eq!(ev.id, "evt_1");
        match ev.typed().unwrap() {
            EventData::CommissionAccrued(c) => {
                assert_eq!(c.amount, Decimal::from_str("40.00").unwrap());
                assert_eq!(c.amount.to_string(), "40.00");
                assert_eq!(c.event_value, Some(Decimal::from_str("200.00").unwrap()));
            }
            other => panic!("{other:?}"),
        }
        // Tampered body.
        let mut bad = body.to_vec();
        bad[10] = b'X';
        assert_eq!(
            verify_at(
                SECRET,
                &headers(&now.to_string(), &sig),
                &bad,
                DEFAULT_TOLERANCE,
                now
            ),
            Err(WebhookError::BadSignature)
        );
        // Wrong secret.
        assert_eq!(
            verify_at(
                "whsec_other",
                &headers(&now.to_string(), &sig),
                body,
                DEFAULT_TOLERANCE,
                now
            ),
            Err(WebhookError::BadSignature)
        );
        // Too old / too new.
        assert!(matches!(
            verify_at(
                SECRET,
                &headers(&now.to_string(), &sig),
                body,
                DEFAULT_TOLERANCE,
                now + 301
            ),
            Err(WebhookError::TimestampOutOfTolerance { skew_secs: 301 })
        ));
        assert!(matches!(
            verify_at(
                SECRET,
                &headers(&now.to_string(), &sig),
                body,
                DEFAULT_TOLERANCE,
                now - 301
            ),
            Err(WebhookError::TimestampOutOfTolerance { .. })
        ));
        // Missing headers.
        let mut h = http::HeaderMap::new();
        h.insert(SIGNATURE_HEADER, sig.parse().unwrap());
        assert_eq!(
            verify_at(SECRET, &h, body, DEFAULT_TOLERANCE, now),
            Err(WebhookError::MissingHeader(TIMESTAMP_HEADER))
        );
        let mut h = http::HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, now.to_string().parse().unwrap());
        assert_eq!(
            verify_at(SECRET, &h, body, DEFAULT_TOLERANCE, now),
            Err(WebhookError::MissingHeader(SIGNATURE_HEADER))
        );
        assert_eq!(
            verify_at(SECRET, &headers("abc", &sig), body, DEFAULT_TOLERANCE, now),
            Err(WebhookError::InvalidTimestamp)
        );
        assert_eq!(
            verify_at(
                SECRET,
                &headers(&now.to_string(), "zz"),
                body,
                DEFAULT_TOLERANCE,
                now
            ),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn attribution_created_weight_is_number() {
        let data = serde_json::json!({"attributionId":"a","eventId":"e","partnerId":"p","programId":"g",
            "clickId":"c","model":"linear","weight":0.3333,"eventType":"sale","eventValue":"300.00",
            "commissionId":null,"commissionCurrency":null});
        let ev = WebhookEvent {
            id: "evt".into(),
            event: "attribution.created".into(),
            created: Utc::now(),
            data,
        };
        match ev.typed().unwrap() {
            EventData::AttributionCreated(a) => {
                assert_eq!(a.weight, Decimal::from_str("0.3333").unwrap());
                let back = serde_json::to_string(&a).unwrap();
                assert!(back.contains("\"weight\":0.3333"), "{back}");
                assert!(back.contains("\"eventValue\":\"300.00\""), "{back}");
            }
            other => panic!("{other:?}"),
        }
    }
}
