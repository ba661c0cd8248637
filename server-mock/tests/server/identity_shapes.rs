//! Typed bodies and the OpenAPI document of the identity routes (auth, admins, API keys,
//! partners, login links, dev mailbox).

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_body_missing_several_fields_reports_every_one() {
    let t = start().await;
    for path in ["/partners", "/admins"] {
        let r = t.post(path, Some(ADMIN), json!({})).await;
        r.assert_err(400, "invalid_body");
        assert_eq!(
            r.body["detail"]["fieldErrors"],
            json!({"email": ["Required"], "name": ["Required"]}),
            "{path}"
        );
        let r = t
            .post(path, Some(ADMIN), json!({"email": "nope", "name": ""}))
            .await;
        assert_eq!(
            r.body["detail"]["fieldErrors"],
            json!({"email": ["Invalid email"], "name": ["must be 1-200 characters"]}),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_identity_routes_are_in_the_openapi_document() {
    let t = start().await;
    let doc = send(t.http.get(format!("{}/openapi.json", t.srv.base_url))).await;
    let paths = &doc.assert_status(200)["paths"];
    for (path, method) in [
        ("/auth/signin", "post"),
        ("/auth/magic/verify", "post"),
        ("/auth/signout", "post"),
        ("/auth/whoami", "get"),
        ("/auth/introspect", "get"),
        ("/admins", "get"),
        ("/admins", "post"),
        ("/admins/{id}/invite", "post"),
        ("/admins/{id}/revoke", "post"),
        ("/admins/{id}/reinstate", "post"),
        ("/api-keys", "post"),
        ("/api-keys", "get"),
        ("/api-keys/scoped", "post"),
        ("/api-keys/{key_id}", "delete"),
        ("/partners/{id}/api-keys", "post"),
        ("/partners/{id}/api-keys", "get"),
        ("/partners", "post"),
        ("/partners", "get"),
        ("/partners/{id}", "get"),
        ("/partners/by-external-id/{external_id}", "get"),
        ("/partners/{id}/invite", "post"),
        ("/partners/{id}/revoke", "post"),
        ("/partners/{id}/reinstate", "post"),
        ("/partners/{id}/login-links", "post"),
        ("/dev/mailbox", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
    let create = &paths["/partners"]["post"];
    assert!(create["responses"]["409"].is_object());
    assert_eq!(
        paths["/partners/{id}/login-links"]["post"]["x-extension"],
        json!(true)
    );
}
