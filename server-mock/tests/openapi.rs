//! `/openapi.json`: the committed document equals the generated one, the server serves
//! exactly it, every route of the router is in it, and every operation in it is routed.
//!
//! After an API change: `OPENPARTNER_UPDATE_OPENAPI=1 cargo test -p openpartner-mock
//! --test openapi` rewrites `server-mock/openapi.json` (review the diff like code).

use std::path::Path;

use openpartner_mock::{routes, Config};

const ADMIN: &str = "openapi-test-admin";

fn committed_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = routes::openapi::to_json(&routes::openapi());
    let path = committed_path();
    if std::env::var_os("OPENPARTNER_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "server-mock/openapi.json is stale: run `OPENPARTNER_UPDATE_OPENAPI=1 cargo test -p \
         openpartner-mock --test openapi` and commit the diff"
    );
}

#[test]
fn the_document_is_openapi_3_1_with_both_security_schemes() {
    let doc: serde_json::Value =
        serde_json::from_str(&routes::openapi::to_json(&routes::openapi())).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["securitySchemes"]["cookie"].is_object());
    assert!(doc["components"]["schemas"]["Error"].is_object());
    // Every operation has its own operationId and names at least one success response.
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            assert!(
                ids.insert(id.clone()),
                "{method} {path}: operationId {id:?} repeats"
            );
        }
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path} has no responses"));
            assert!(
                responses
                    .keys()
                    .any(|k| k.starts_with('2') || k.starts_with('3')),
                "{method} {path} documents no success response"
            );
        }
    }
}

/// Route modules register routes only through `OpenApiRouter::routes(routes!(…))`, so
/// the router's route table is the document's: no plain axum `.route(` / `Router::new()`
/// may appear in a route module (the two places that assemble the groups aside).
#[test]
fn route_modules_register_every_route_through_the_document() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mut offenders = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name == "mod.rs" || !name.ends_with(".rs") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        for (i, line) in src.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains(".route(")
                || code.contains(".route_service(")
                || code.contains("Router::new()") && !code.contains("OpenApiRouter::new()")
            {
                offenders.push(format!("{name}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "routes registered outside the OpenAPI document:\n{}",
        offenders.join("\n")
    );
}

/// Every documented operation is routed: with the admin key it never answers 404
/// `route_not_found` or 405 (path ids are dummies, so a resource 404 is fine). The \[EXT\]
/// `/platform/*` operations exist only in multi mode: they are tried there, with the
/// platform key.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let srv = openpartner_mock::spawn(Config::for_tests(ADMIN))
        .await
        .unwrap();
    let mut multi_cfg = Config::for_tests(ADMIN);
    multi_cfg.tenancy = openpartner_mock::Tenancy::Multi;
    multi_cfg.platform_key = Some("platform-key".into());
    let multi = openpartner_mock::spawn(multi_cfg).await.unwrap();
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let served: serde_json::Value = http
        .get(format!("{}/openapi.json", srv.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let generated: serde_json::Value =
        serde_json::from_str(&routes::openapi::to_json(&routes::openapi())).unwrap();
    assert_eq!(
        served, generated,
        "GET /openapi.json serves the generated document"
    );
    let mut checked = 0;
    for (path, item) in generated["paths"].as_object().unwrap() {
        let concrete: String = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "x0000000000000000000000000"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (base, key) = if path.starts_with("/platform/") {
                (&multi.base_url, "platform-key")
            } else {
                (&srv.base_url, ADMIN)
            };
            let mut rb = http
                .request(m.clone(), format!("{base}{concrete}"))
                .bearer_auth(key);
            if m == reqwest::Method::POST
                || m == reqwest::Method::PUT
                || m == reqwest::Method::PATCH
            {
                rb = rb.json(&serde_json::json!({}));
            }
            let r = rb.send().await.unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap_or(serde_json::Value::Null);
            assert!(
                !(status == 404 && body["error"] == "route_not_found") && status != 405,
                "{method} {path} is documented but not routed ({status} {body})"
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} operations documented");
}
