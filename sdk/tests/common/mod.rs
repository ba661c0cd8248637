//! Shared helpers for the wiremock tests (included with `mod common;`).
#![allow(dead_code)]

use std::time::Duration;

use openpartner::{Client, ClientBuilder, Credentials, RetryPolicy};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockBuilder, MockServer, Request, Respond, ResponseTemplate};

pub const ADMIN_KEY: &str = "op_0123456789abcdef0123456789abcdef0123456789abcdef";

/// Status of the catch-all mock's answer: outside every range the SDK treats specially
/// (not 2xx, not retryable 5xx/429, not an auth error), so a stray request shows up as an
/// API error in the test and as a verification failure when the server drops.
pub const UNEXPECTED_STATUS: u16 = 599;

/// Name of the catch-all mock, shown in wiremock's verification failure.
pub const UNEXPECTED_MOCK: &str = "unexpected request: no mock of this test matches it";

/// A mock server with a catch-all mock (octocrab's `tests/mock_error.rs` pattern): every
/// request that no mock of the test matches is answered `599` by a lowest-priority
/// `Mock::given(any())` that expects zero calls, so the test fails (when the server drops)
/// on any unexpected request instead of silently getting wiremock's default 404.
pub async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(UNEXPECTED_STATUS))
        .with_priority(u8::MAX)
        .expect(0)
        .named(UNEXPECTED_MOCK)
        .mount(&server)
        .await;
    server
}

/// A fast, deterministic retry policy for tests (1 ms backoff steps, no jitter).
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
        .no_jitter()
}

/// A builder for `server` with the admin key and [`fast_retry`], to adjust before `.build()`.
pub fn admin_builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .base_url(server.uri())
        .credentials(Credentials::api_key(ADMIN_KEY))
        .retry(fast_retry())
}

pub fn client(server: &MockServer) -> Client {
    admin_builder(server).build().unwrap()
}

pub fn tenant_client(server: &MockServer, tenant: &str) -> Client {
    admin_builder(server).tenant(tenant).build().unwrap()
}

/// Responds with `status` and `body`, echoing the request's `X-Request-Id` and advertising
/// `extensions` when given.
pub struct Echo {
    pub status: u16,
    pub body: serde_json::Value,
    pub extensions: Option<&'static str>,
}

impl Respond for Echo {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut t = ResponseTemplate::new(self.status).set_body_json(self.body.clone());
        if let Some(rid) = req.headers.get("x-request-id") {
            t = t.insert_header("x-request-id", rid.to_str().unwrap_or_default());
        }
        if let Some(e) = self.extensions {
            t = t.insert_header("openpartner-extensions", e);
        }
        t
    }
}

pub fn echo(status: u16, body: serde_json::Value) -> Echo {
    Echo {
        status,
        body,
        extensions: None,
    }
}

pub fn echo_ext(status: u16, body: serde_json::Value, ext: &'static str) -> Echo {
    Echo {
        status,
        body,
        extensions: Some(ext),
    }
}

pub fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn body_json(r: &Request) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap()
}

pub fn partner_json(id: &str, email: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id, "tenantId": "01J0000000DEFAULTTENANT0000", "email": email, "name": "Ada",
        "externalId": null, "stripeConnectAccountId": null, "metadata": {},
        "createdAt": "2026-11-20T10:30:00.000Z", "updatedAt": "2026-11-20T10:30:00.000Z",
        "activatedAt": null, "revokedAt": null, "revokeReason": null
    })
}

/// A commission row as the server sends it (`status` accrued, USD, tenant `t`).
pub fn commission_row(
    id: &str,
    accrued: &str,
    program: &str,
    partner: &str,
    amount: &str,
) -> serde_json::Value {
    serde_json::json!({"id":id,"tenantId":"t","attributionId":"a","partnerId":partner,"amount":amount,"currency":"USD",
        "status":"accrued","accruedAt":accrued,"paidAt":null,"payoutId":null,"holdbackDays":null,
        "programId":program,"campaignName":"Main","matureAt":null})
}

pub async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

/// The start of every mock here: a request with method `verb` on exactly `route`.
pub fn route(verb: &str, route: impl Into<String>) -> MockBuilder {
    Mock::given(method(verb)).and(path(route))
}

/// Answers every `verb route` request on `server` with `responder`.
pub async fn mount(
    server: &MockServer,
    verb: &str,
    route_path: impl Into<String>,
    responder: impl Respond + 'static,
) {
    route(verb, route_path)
        .respond_with(responder)
        .mount(server)
        .await;
}

/// Like [`mount`], and expects exactly `n` such requests (checked when `server` drops).
pub async fn mount_expect(
    server: &MockServer,
    verb: &str,
    route_path: impl Into<String>,
    n: u64,
    responder: impl Respond + 'static,
) {
    route(verb, route_path)
        .respond_with(responder)
        .expect(n)
        .mount(server)
        .await;
}
