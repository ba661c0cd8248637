//! `openpartner::webhooks::verify`: every check of §3.6 (tampered body, wrong secret, a
//! timestamp 301 s off in either direction, missing/malformed headers, malformed body), the
//! genuine delivery accepted, every documented event type decoded with its exact §3.6
//! payload, and an unknown type kept raw.

use std::str::FromStr;
use std::time::Duration;

use openpartner::types::AttributionModel;
use openpartner::webhooks::{
    self, delivery_headers, sign, verify, verify_at, verify_ignoring_timestamp, Event, VerifyError,
    DEFAULT_TOLERANCE, DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use rust_decimal::Decimal;

const SECRET: &str = "whsec_abcdefghijklmnopqrstuvwxyz012345";
const NOW: i64 = 1_800_000_000;

fn envelope(event: &str, data: &str) -> Vec<u8> {
    format!(
        r#"{{"id":"evt_01JDQ7Z8K3M4N5P6Q7R8S9T0VW","event":"{event}","created":"2026-11-20T10:30:00.000Z","data":{data}}}"#
    )
    .into_bytes()
}

fn paid() -> Vec<u8> {
    envelope(
        "commission.paid",
        r#"{"commissionId":"com_1","partnerId":"prt_1","amount":"40.10","currency":"USD","payoutId":"pay_1"}"#,
    )
}

fn headers_at(ts: i64, body: &[u8]) -> http::HeaderMap {
    delivery_headers(
        SECRET,
        ts,
        body,
        "commission.paid",
        "evt_01JDQ7Z8K3M4N5P6Q7R8S9T0VW",
    )
}

fn decode(event: &str, data: &str) -> Event {
    let body = envelope(event, data);
    verify_at(
        SECRET,
        &headers_at(NOW, &body),
        &body,
        DEFAULT_TOLERANCE,
        NOW,
    )
    .expect(event)
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn accepts_the_genuine_delivery() {
    let body = paid();
    let ev = verify_at(
        SECRET,
        &headers_at(NOW, &body),
        &body,
        DEFAULT_TOLERANCE,
        NOW + 300,
    )
    .expect("genuine");
    assert_eq!(ev.id(), "evt_01JDQ7Z8K3M4N5P6Q7R8S9T0VW");
    assert_eq!(ev.delivery_id(), Some("evt_01JDQ7Z8K3M4N5P6Q7R8S9T0VW"));
    assert_eq!(ev.event_type(), "commission.paid");
    assert_eq!(
        ev.meta().created,
        "2026-11-20T10:30:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    // And against the real clock.
    let now = chrono::Utc::now().timestamp();
    let ev = verify(SECRET, &headers_at(now, &body), &body, DEFAULT_TOLERANCE).unwrap();
    assert!(matches!(ev, Event::CommissionPaid { .. }));
}

#[test]
fn rejects_a_tampered_body() {
    let body = paid();
    let headers = headers_at(NOW, &body);
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("40.10", "90.10");
    assert_eq!(
        verify_at(
            SECRET,
            &headers,
            tampered.as_bytes(),
            DEFAULT_TOLERANCE,
            NOW
        ),
        Err(VerifyError::BadSignature)
    );
    // One byte more (trailing whitespace) is tampering too: the raw bytes are signed.
    let mut longer = body.clone();
    longer.push(b' ');
    assert_eq!(
        verify_at(SECRET, &headers, &longer, DEFAULT_TOLERANCE, NOW),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn rejects_a_wrong_secret() {
    let body = paid();
    let headers = headers_at(NOW, &body);
    assert_eq!(
        verify_at(
            "whsec_zbcdefghijklmnopqrstuvwxyz012345",
            &headers,
            &body,
            DEFAULT_TOLERANCE,
            NOW
        ),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn rejects_a_timestamp_301_s_in_the_past_or_the_future() {
    let body = paid();
    // Signed 301 s before "now": too old.
    let old = headers_at(NOW - 301, &body);
    assert_eq!(
        verify_at(SECRET, &old, &body, DEFAULT_TOLERANCE, NOW),
        Err(VerifyError::TimestampOutsideTolerance {
            skew_secs: 301,
            in_future: false
        })
    );
    // Signed 301 s after "now": from the future, rejected the same way.
    let future = headers_at(NOW + 301, &body);
    assert_eq!(
        verify_at(SECRET, &future, &body, DEFAULT_TOLERANCE, NOW),
        Err(VerifyError::TimestampOutsideTolerance {
            skew_secs: 301,
            in_future: true
        })
    );
    // 300 s either way is still inside.
    for ts in [NOW - 300, NOW + 300] {
        assert!(verify_at(
            SECRET,
            &headers_at(ts, &body),
            &body,
            DEFAULT_TOLERANCE,
            NOW
        )
        .is_ok());
    }
    // A smaller tolerance is honoured.
    assert!(matches!(
        verify_at(
            SECRET,
            &headers_at(NOW - 11, &body),
            &body,
            Duration::from_secs(10),
            NOW
        ),
        Err(VerifyError::TimestampOutsideTolerance { skew_secs: 11, .. })
    ));
    // The real-clock entry point checks the future as well.
    let ahead = headers_at(chrono::Utc::now().timestamp() + 301, &body);
    assert!(matches!(
        verify(SECRET, &ahead, &body, DEFAULT_TOLERANCE),
        Err(VerifyError::TimestampOutsideTolerance {
            in_future: true,
            ..
        })
    ));
}

#[test]
fn the_replay_entry_point_skips_only_the_timestamp_check() {
    let body = paid();
    let stale = headers_at(NOW - 86_400, &body);
    let ev = verify_ignoring_timestamp(SECRET, &stale, &body).expect("replayed");
    assert!(matches!(ev, Event::CommissionPaid { .. }));
    assert_eq!(
        verify_ignoring_timestamp(SECRET, &stale, b"{}"),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        verify_ignoring_timestamp("whsec_other", &stale, &body),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn says_which_header_is_missing_or_malformed() {
    let body = paid();
    let full = headers_at(NOW, &body);
    let without = |name: &str| {
        let mut h = full.clone();
        h.remove(name);
        h
    };
    assert_eq!(
        verify_at(
            SECRET,
            &without(TIMESTAMP_HEADER),
            &body,
            DEFAULT_TOLERANCE,
            NOW
        ),
        Err(VerifyError::MissingHeader(TIMESTAMP_HEADER))
    );
    assert_eq!(
        verify_at(
            SECRET,
            &without(SIGNATURE_HEADER),
            &body,
            DEFAULT_TOLERANCE,
            NOW
        ),
        Err(VerifyError::MissingHeader(SIGNATURE_HEADER))
    );
    let mut h = full.clone();
    h.insert(TIMESTAMP_HEADER, "yesterday".parse().unwrap());
    assert_eq!(
        verify_at(SECRET, &h, &body, DEFAULT_TOLERANCE, NOW),
        Err(VerifyError::MalformedHeader(TIMESTAMP_HEADER))
    );
    let mut h = full.clone();
    h.insert(SIGNATURE_HEADER, "not-hex".parse().unwrap());
    assert_eq!(
        verify_at(SECRET, &h, &body, DEFAULT_TOLERANCE, NOW),
        Err(VerifyError::MalformedHeader(SIGNATURE_HEADER))
    );
    // The delivery id header is optional for verification; it is just not exposed then.
    let ev = verify_at(
        SECRET,
        &without(DELIVERY_HEADER),
        &body,
        DEFAULT_TOLERANCE,
        NOW,
    )
    .unwrap();
    assert_eq!(ev.delivery_id(), None);
    assert_eq!(ev.id(), "evt_01JDQ7Z8K3M4N5P6Q7R8S9T0VW");
}

#[test]
fn a_signed_but_malformed_body_is_reported_as_such() {
    for body in [
        &b"not json"[..],
        br#"{"event":"commission.paid","created":"2026-11-20T10:30:00.000Z","data":{}}"#,
        // A documented type whose data lacks its fields.
        br#"{"id":"evt_1","event":"commission.paid","created":"2026-11-20T10:30:00.000Z","data":{"amount":"1.00"}}"#,
    ] {
        let err = verify_at(SECRET, &headers_at(NOW, body), body, DEFAULT_TOLERANCE, NOW)
            .expect_err("malformed");
        assert!(matches!(err, VerifyError::MalformedBody(_)), "{err:?}");
    }
}

#[test]
fn errors_never_show_the_secret_or_the_signature() {
    let body = paid();
    let headers = headers_at(NOW, &body);
    let sig = sign(SECRET, NOW, &body);
    let err = verify_at(SECRET, &headers, b"{}", DEFAULT_TOLERANCE, NOW).unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(SECRET) && !text.contains(&sig), "{text}");
    }
}

#[test]
fn partner_created_decodes() {
    match decode(
        "partner.created",
        r#"{"partnerId":"prt_1","email":"ada@example.com","name":"Ada","activatedAt":null,"invited":true,"programIds":["prg_1","prg_2"]}"#,
    ) {
        Event::PartnerCreated { data, .. } => {
            assert_eq!(data.partner_id, "prt_1");
            assert_eq!(data.email, "ada@example.com");
            assert_eq!(data.name, "Ada");
            assert_eq!(data.activated_at, None);
            assert!(data.invited);
            assert_eq!(data.program_ids, ["prg_1", "prg_2"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn partner_activated_decodes() {
    match decode(
        "partner.activated",
        r#"{"partnerId":"prt_1","email":"ada@example.com","name":"Ada","activatedAt":"2026-11-20T10:31:00.000Z"}"#,
    ) {
        Event::PartnerActivated { data, .. } => {
            assert_eq!(data.partner_id, "prt_1");
            assert_eq!(data.activated_at.to_rfc3339(), "2026-11-20T10:31:00+00:00");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn attribution_created_decodes_with_an_exact_number_weight() {
    match decode(
        "attribution.created",
        r#"{"attributionId":"att_1","eventId":"evn_1","partnerId":"prt_1","programId":"prg_1","clickId":"clk_1","model":"linear","weight":0.333333333333333333,"eventType":"sale","eventValue":"300.00","commissionId":"com_1","commissionCurrency":"EUR"}"#,
    ) {
        Event::AttributionCreated { data, .. } => {
            assert_eq!(data.attribution_id, "att_1");
            assert_eq!(data.event_id, "evn_1");
            assert_eq!(data.click_id, "clk_1");
            assert_eq!(data.model, AttributionModel::Linear);
            // 18 digits survive: the number never went through f64.
            assert_eq!(data.weight, dec("0.333333333333333333"));
            assert_eq!(data.event_type, "sale");
            assert_eq!(data.event_value, Some(dec("300.00")));
            assert_eq!(data.commission_id.as_deref(), Some("com_1"));
            assert_eq!(data.commission_currency.as_deref(), Some("EUR"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn commission_accrued_decodes() {
    match decode(
        "commission.accrued",
        r#"{"commissionId":"com_1","partnerId":"prt_1","attributionId":"att_1","clickId":"clk_1","eventId":"evn_1","programId":"prg_1","amount":"40.00","currency":"USD","eventType":"sale","eventValue":"200.00"}"#,
    ) {
        Event::CommissionAccrued { data, .. } => {
            assert_eq!(data.commission_id, "com_1");
            assert_eq!(data.attribution_id, "att_1");
            assert_eq!(data.click_id.as_deref(), Some("clk_1"));
            assert_eq!(data.program_id.as_deref(), Some("prg_1"));
            assert_eq!(data.amount, dec("40.00"));
            assert_eq!(data.amount.to_string(), "40.00");
            assert_eq!(data.event_value, Some(dec("200.00")));
            assert_eq!(data.event_type, "sale");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn commission_approved_decodes() {
    match decode(
        "commission.approved",
        r#"{"commissionId":"com_1","partnerId":"prt_1","amount":"0.10","currency":"JPY","attributionId":"att_1"}"#,
    ) {
        Event::CommissionApproved { data, .. } => {
            assert_eq!(data.amount, dec("0.10"));
            assert_eq!(data.currency, "JPY");
            assert_eq!(data.attribution_id.as_deref(), Some("att_1"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn commission_reversed_decodes() {
    match decode(
        "commission.reversed",
        r#"{"commissionId":"com_1","partnerId":"prt_1","amount":"12.34","currency":"USD"}"#,
    ) {
        Event::CommissionReversed { data, .. } => {
            assert_eq!(data.commission_id, "com_1");
            assert_eq!(data.amount, dec("12.34"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn commission_paid_decodes() {
    let body = paid();
    match verify_at(
        SECRET,
        &headers_at(NOW, &body),
        &body,
        DEFAULT_TOLERANCE,
        NOW,
    )
    .unwrap()
    {
        Event::CommissionPaid { data, meta } => {
            assert_eq!(meta.id, "evt_01JDQ7Z8K3M4N5P6Q7R8S9T0VW");
            assert_eq!(data.commission_id, "com_1");
            assert_eq!(data.partner_id, "prt_1");
            assert_eq!(data.amount, dec("40.10"));
            assert_eq!(data.currency, "USD");
            assert_eq!(data.payout_id, "pay_1");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn payout_created_decodes() {
    match decode(
        "payout.created",
        r#"{"payoutId":"pay_1","partnerId":"prt_1","amount":"1234567890123.45","currency":"USD","method":"manual","commissionIds":["com_1","com_2"]}"#,
    ) {
        Event::PayoutCreated { data, .. } => {
            assert_eq!(data.payout_id, "pay_1");
            assert_eq!(data.amount, dec("1234567890123.45"));
            assert_eq!(data.method, "manual");
            assert_eq!(data.commission_ids, ["com_1", "com_2"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn webhook_test_decodes() {
    match decode("webhook.test", r#"{"_synthetic":true,"note":"ping"}"#) {
        Event::WebhookTest { data, .. } => {
            assert!(data.synthetic);
            assert_eq!(data.rest["note"], "ping");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unknown_type_is_kept_raw() {
    let ev = decode(
        "program.archived",
        r#"{"programId":"prg_1","amount":0.1000000000000000055}"#,
    );
    assert_eq!(ev.event_type(), "program.archived");
    match ev {
        Event::Unknown { event, raw, meta } => {
            assert_eq!(event, "program.archived");
            assert_eq!(meta.id, "evt_01JDQ7Z8K3M4N5P6Q7R8S9T0VW");
            assert_eq!(raw["data"]["programId"], "prg_1");
            // The raw JSON keeps numbers exactly as sent.
            assert_eq!(raw["data"]["amount"].to_string(), "0.1000000000000000055");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_headers_match_the_documented_signature() {
    let body = paid();
    let h = headers_at(NOW, &body);
    assert_eq!(h[TIMESTAMP_HEADER], NOW.to_string().as_str());
    assert_eq!(h[SIGNATURE_HEADER], sign(SECRET, NOW, &body).as_str());
    assert_eq!(h[webhooks::EVENT_HEADER], "commission.paid");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["user-agent"], webhooks::USER_AGENT);
}
