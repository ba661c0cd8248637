//! The OpenAPI document describes the attribution routes from their own definitions:
//! events, identify (open, with its preflight), commissions, payouts and analytics, each
//! with its route-specific error codes, typed bodies and the [EXT] marks.

use serde_json::{json, Value};

fn doc() -> Value {
    let text = openpartner_mock::routes::openapi::to_json(&openpartner_mock::routes::openapi());
    serde_json::from_str(&text).expect("the document is JSON")
}

fn op<'a>(doc: &'a Value, path: &str, method: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(
        op.is_object(),
        "{method} {path} is missing from the document"
    );
    op
}

fn schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let s = &doc["components"]["schemas"][name];
    assert!(s.is_object(), "schema {name} is missing");
    s
}

#[test]
fn every_attribution_operation_is_documented_with_its_errors() {
    let doc = doc();
    for (path, method, codes) in [
        ("/attribution/events", "post", &["200", "400"][..]),
        ("/attribution/identify", "post", &["200", "404", "429"][..]),
        ("/attribution/identify", "options", &["204"][..]),
        ("/commissions", "get", &["200", "400"][..]),
        (
            "/partners/{id}/commissions",
            "get",
            &["200", "400", "404"][..],
        ),
        (
            "/commissions/{id}/approve",
            "post",
            &["200", "404", "409"][..],
        ),
        (
            "/commissions/{id}/reverse",
            "post",
            &["200", "404", "409"][..],
        ),
        ("/payouts/run", "post", &["200"][..]),
        ("/payouts/{id}/confirm", "post", &["200", "404", "409"][..]),
        ("/partners/{id}/payouts", "get", &["200", "404"][..]),
        ("/partners/{id}/dashboard", "get", &["200", "404"][..]),
        (
            "/partners/{id}/timeseries",
            "get",
            &["200", "400", "404"][..],
        ),
        ("/partners/{id}/events", "get", &["200", "404"][..]),
        ("/partners/{id}/customers", "get", &["200", "404"][..]),
    ] {
        let o = op(&doc, path, method);
        for code in codes {
            assert!(
                o["responses"][code].is_object(),
                "{method} {path}: no {code} response"
            );
        }
    }
    let approve = op(&doc, "/commissions/{id}/approve", "post");
    let conflict = approve["responses"]["409"]["description"].as_str().unwrap();
    assert!(
        conflict.contains("holdback_active") && conflict.contains("not_approvable"),
        "{conflict}"
    );
    // identify is open: no credential, and no 401/403
    let identify = op(&doc, "/attribution/identify", "post");
    assert_eq!(identify["security"], json!([{}]));
    assert!(identify["responses"]["401"].is_null());
}

#[test]
fn bodies_queries_and_answers_are_typed() {
    let doc = doc();
    let track = schema(&doc, "TrackBody");
    let mut required: Vec<&str> = track["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(required, ["type", "userId"]);
    assert_eq!(track["properties"]["userId"]["maxLength"], json!(256));
    assert_eq!(track["properties"]["type"]["maxLength"], json!(80));
    let touch = schema(&doc, "Touch");
    assert!(touch["properties"]["weight"]["type"]
        .to_string()
        .contains("number"));
    let commission = schema(&doc, "Commission");
    assert!(commission["properties"]["amount"]["type"]
        .to_string()
        .contains("string"));
    let page = schema(&doc, "CommissionPage");
    assert_eq!(
        page["properties"]["nextCursor"]["x-extension"],
        json!(true),
        "{page}"
    );
    let list = op(&doc, "/commissions", "get");
    let limit = list["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("limit parameter");
    assert_eq!(limit["in"], "query");
    // Optional query parameters also admit "" (absent), so the integer schema may sit in
    // an anyOf beside it.
    let integer = limit["schema"]["anyOf"]
        .as_array()
        .and_then(|alts| alts.iter().find(|a| a["type"] == "integer").cloned())
        .unwrap_or_else(|| limit["schema"].clone());
    assert_eq!(integer["maximum"], json!(500), "{limit}");
    let identify = schema(&doc, "IdentifyResponse");
    assert!(
        identify["properties"]["backfilledAttributions"]["description"]
            .as_str()
            .unwrap()
            .contains("events")
    );
}
