//! `client.webhooks().attempts(id, delivery)`: `GET /webhooks/:id/deliveries/:deliveryId/attempts`
//! (§3.6 [EXT] attempt log) decoded into typed rows; errors surface as API errors.

mod common;

use openpartner::types::AttemptTrigger;
use openpartner::Error;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn the_attempt_log_decodes_oldest_first() {
    let server = common::server().await;
    Mock::given(method("GET"))
        .and(path("/webhooks/whk_1/deliveries/dlv_1/attempts"))
        .and(header(
            "authorization",
            format!("Bearer {}", common::ADMIN_KEY).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"attempts":[
            {"n":1,"trigger":"scheduled","httpStatus":500,"error":"HTTP 500",
             "responseSnippet":"oops","durationMs":12,"at":"2026-11-20T10:30:00.000Z"},
            {"n":2,"trigger":"scheduled","httpStatus":null,"error":"connection refused",
             "responseSnippet":null,"durationMs":3,"at":"2026-11-20T10:30:30.000Z"},
            {"n":3,"trigger":"manual","httpStatus":200,"error":null,
             "responseSnippet":"ok","durationMs":7,"at":"2026-11-20T10:31:00.000Z"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let attempts = common::client(&server)
        .webhooks()
        .attempts("whk_1", "dlv_1")
        .await
        .unwrap();
    let ns: Vec<u32> = attempts.iter().map(|a| a.n).collect();
    assert_eq!(ns, [1, 2, 3]);
    assert_eq!(attempts[0].trigger, AttemptTrigger::Scheduled);
    assert_eq!(attempts[0].http_status, Some(500));
    assert_eq!(attempts[0].error.as_deref(), Some("HTTP 500"));
    assert_eq!(attempts[0].response_snippet.as_deref(), Some("oops"));
    assert_eq!(attempts[0].duration_ms, 12);
    assert_eq!(attempts[1].http_status, None);
    assert_eq!(attempts[1].error.as_deref(), Some("connection refused"));
    assert_eq!(attempts[2].trigger, AttemptTrigger::Manual);
    assert_eq!(attempts[2].error, None);
    assert_eq!(attempts[2].at.to_rfc3339(), "2026-11-20T10:31:00+00:00");
}

#[tokio::test]
async fn ids_are_path_segments_and_errors_are_api_errors() {
    let server = common::server().await;
    Mock::given(method("GET"))
        .and(path("/webhooks/whk%2F1/deliveries/dlv_2/attempts"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error":"endpoint_mismatch","message":"delivery belongs to another endpoint"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let err = common::client(&server)
        .webhooks()
        .attempts("whk/1", "dlv_2")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { status: 400, .. }), "{err:?}");
    assert_eq!(err.code(), Some("endpoint_mismatch"));
}
