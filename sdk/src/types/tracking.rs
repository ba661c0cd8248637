//! Clicks, identify and conversion events (API.md §3.3, §3.4).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{wire_enum, AttributionModel};

wire_enum! {
    /// Why a click is excluded from attribution.
    FraudFlag {
        /// Too many clicks from one source.
        Velocity = "velocity",
        /// Flagged by an admin.
        Manual = "manual",
        /// The partner was revoked.
        Revoked = "revoked",
    }
}

wire_enum! {
    /// Result of attributing one event.
    AttributionStatus {
        /// New attributions were written (`touches` lists them).
        Attributed = "attributed",
        /// The user has no identity.
        NoIdentity = "no_identity",
        /// The user's identities have no eligible click.
        NoClick = "no_click",
        /// All clicks are outside the attribution window.
        OutsideWindow = "outside_window",
        /// Every attribution already existed.
        AlreadyAttributed = "already_attributed",
    }
}

/// Body of `POST /clicks`: a click recorded by the caller's own redirector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordClick {
    /// Caller's click id (20–40 chars); the same id again is a replay.
    pub id: String,
    /// The link's key.
    pub link_key: String,
    /// Landing URL.
    pub landing_url: String,
    /// Hashed client IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_hash: Option<String>,
    /// User agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Referer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referer: Option<String>,
    /// Fraud flag to store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fraud_flag: Option<FraudFlag>,
    /// Click time.
    #[serde(with = "super::ts")]
    pub ts: DateTime<Utc>,
}

/// `POST /clicks` → `{ok, id, replayed?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClickRecorded {
    /// The click id.
    pub id: String,
    /// `true` when the id was already recorded (200 instead of 201).
    #[serde(default)]
    pub replayed: bool,
}

/// A flagged click (`GET /admin/clicks/flagged`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlaggedClick {
    /// Click id.
    pub id: String,
    /// Flag.
    pub fraud_flag: FraudFlag,
    /// Click time.
    #[serde(with = "super::ts")]
    pub ts: DateTime<Utc>,
    /// Hashed IP.
    #[serde(default)]
    pub ip_hash: Option<String>,
    /// User agent.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Referer.
    #[serde(default)]
    pub referer: Option<String>,
    /// Landing URL.
    #[serde(default)]
    pub landing_url: Option<String>,
    /// Partner.
    #[serde(default)]
    pub partner_id: Option<String>,
    /// Partner name.
    #[serde(default)]
    pub partner_name: Option<String>,
    /// Link id.
    #[serde(default)]
    pub link_id: Option<String>,
    /// Link key.
    #[serde(default)]
    pub link_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FlaggedBody {
    pub clicks: Vec<FlaggedClick>,
}

/// `POST /clicks/:id/flag` → `{ok, clickId}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlagResult {
    /// The click.
    pub click_id: String,
}

/// `POST /clicks/:id/unflag` → `{ok, clickId, reattributedEvents}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnflagResult {
    /// The click.
    pub click_id: String,
    /// Events re-attributed.
    #[serde(default)]
    pub reattributed_events: u64,
}

/// `POST /attribution/identify` → `{ok, identityId, firstStitch, backfilledAttributions}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentifyResult {
    /// New identity id (`None` when the pair already existed).
    #[serde(default)]
    pub identity_id: Option<String>,
    /// Whether this stitched the user to the click for the first time.
    #[serde(default)]
    pub first_stitch: bool,
    /// How many of the user's past **events** were re-attributed by this stitch: the
    /// events whose re-run ended `attributed`, one per event however many touches
    /// (attribution rows) it wrote — a `position` event with three touches counts once;
    /// events that end `already_attributed` (or any other outcome) count zero. `0` when the
    /// pair already existed (API.md §3.3).
    #[serde(default)]
    pub backfilled_attributions: u64,
}

/// Body of `POST /attribution/events`. Build with [`TrackEvent::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackEvent {
    /// Your user id (stitched to clicks via identify).
    pub user_id: String,
    /// Event type, e.g. `sale`, `lead`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Value in major units (≥ 0), sent as a JSON number; absent counts as 0.
    #[serde(
        default,
        with = "crate::money::number_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Decimal>,
    /// 3-letter currency (server default `USD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// Event time (server default: now).
    #[serde(
        default,
        with = "super::ts::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub ts: Option<DateTime<Utc>>,
}

impl TrackEvent {
    /// An event of `kind` for `user_id`, without value, currency, metadata or time.
    pub fn new(user_id: impl Into<String>, kind: impl Into<String>) -> Self {
        TrackEvent {
            user_id: user_id.into(),
            kind: kind.into(),
            value: None,
            currency: None,
            metadata: None,
            ts: None,
        }
    }
    /// Sets the value (major units).
    pub fn value(mut self, v: Decimal) -> Self {
        self.value = Some(v);
        self
    }
    /// Sets the currency.
    pub fn currency(mut self, c: impl Into<String>) -> Self {
        self.currency = Some(c.into());
        self
    }
    /// Sets metadata.
    pub fn metadata(mut self, m: serde_json::Value) -> Self {
        self.metadata = Some(m);
        self
    }
    /// Sets the event time.
    pub fn ts(mut self, ts: DateTime<Utc>) -> Self {
        self.ts = Some(ts);
        self
    }
}

/// `POST /attribution/events` → `{ok, eventId, attribution}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackResult {
    /// Stored event id.
    pub event_id: String,
    /// What attribution did.
    pub attribution: AttributionOutcome,
}

/// `attribution` of a [`TrackResult`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributionOutcome {
    /// Outcome.
    pub status: AttributionStatus,
    /// Model used (with `attributed` / `already_attributed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<AttributionModel>,
    /// New attributions (with `attributed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub touches: Vec<Touch>,
}

/// One new attribution of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Touch {
    /// Click credited.
    pub click_id: String,
    /// Partner credited.
    pub partner_id: String,
    /// Share of credit (JSON number, e.g. `0.3333`).
    #[serde(with = "crate::money::number")]
    pub weight: Decimal,
    /// Attribution id.
    pub attribution_id: String,
    /// First commission written for this touch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commission_id: Option<String>,
}
