//! Shared helpers for the `attribution_*` HTTP tests: an in-process server on port 0 and
//! raw-JSON request helpers (field names straight from API.md).
#![allow(dead_code)]

use openpartner_mock::{spawn, Config, RunningServer};
use reqwest::{header::HeaderMap, Method};
use serde_json::{json, Value};

pub const ADMIN: &str = "op_test_admin_key";

pub struct T {
    pub srv: RunningServer,
    pub http: reqwest::Client,
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: HeaderMap,
}

impl T {
    pub async fn new() -> T {
        Self::with(Config::for_tests(ADMIN)).await
    }

    pub async fn with(cfg: Config) -> T {
        let srv = spawn(cfg).await.expect("server starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        T { srv, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.srv.base_url, path)
    }

    pub async fn req(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut rb = self.http.request(method, self.url(path));
        if let Some(k) = key {
            rb = rb.bearer_auth(k);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("request sent");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req(Method::GET, path, Some(ADMIN), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.req(Method::POST, path, Some(ADMIN), Some(body)).await
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Resp {
        self.req(Method::GET, path, Some(key), None).await
    }

    pub async fn post_as(&self, key: &str, path: &str, body: Value) -> Resp {
        self.req(Method::POST, path, Some(key), Some(body)).await
    }

    /// Creates a program; `extra` is merged over a 20 % last-click default.
    pub async fn program(&self, extra: Value) -> String {
        let mut body = json!({
            "name": "Prog",
            "destinationUrl": "https://shop.example.com/landing",
            "commissionRule": {"type": "percent", "value": 20},
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let r = self.post("/programs", body).await;
        assert_eq!(r.status, 201, "create program: {}", r.text);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates an activated partner (granted every program) and returns its id.
    pub async fn partner(&self, email: &str) -> String {
        let r = self
            .post(
                "/partners",
                json!({"email": email, "name": email, "sendInvite": false}),
            )
            .await;
        assert_eq!(r.status, 201, "create partner: {}", r.text);
        r.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn partner_key(&self, partner: &str) -> String {
        let r = self
            .post(&format!("/partners/{partner}/api-keys"), json!({}))
            .await;
        assert_eq!(r.status, 201, "partner key: {}", r.text);
        r.body["plaintext"].as_str().unwrap().to_owned()
    }

    pub async fn scoped_key(&self, scopes: &[&str]) -> String {
        let r = self
            .post("/api-keys/scoped", json!({"scopes": scopes}))
            .await;
        assert_eq!(r.status, 201, "scoped key: {}", r.text);
        r.body["plaintext"].as_str().unwrap().to_owned()
    }

    pub async fn link(&self, partner: &str, program: &str, key: &str) -> Value {
        let r = self
            .post(
                &format!("/partners/{partner}/links"),
                json!({"linkKey": key, "programId": program}),
            )
            .await;
        assert_eq!(r.status, 201, "create link: {}", r.text);
        r.body
    }

    /// Posts a click with an explicit ts; returns its id.
    pub async fn click(&self, link_key: &str, ts: &str) -> String {
        let id = format!("clk_{:0>22}", ulid::Ulid::new().to_string());
        let r = self
            .post(
                "/clicks",
                json!({"id": id, "linkKey": link_key, "landingUrl": "https://shop.example.com/", "ts": ts}),
            )
            .await;
        assert_eq!(r.status, 201, "click: {}", r.text);
        id
    }

    pub async fn identify(&self, cref: &str, user: &str) -> Resp {
        self.req(
            Method::POST,
            "/attribution/identify",
            None,
            Some(json!({"cref": cref, "userId": user})),
        )
        .await
    }

    pub async fn track(&self, user: &str, ty: &str, value: Value, ts: &str) -> Value {
        let r = self
            .post(
                "/attribution/events",
                json!({"userId": user, "type": ty, "value": value, "ts": ts}),
            )
            .await;
        assert_eq!(r.status, 200, "track: {}", r.text);
        r.body
    }

    pub async fn commissions(&self, query: &str) -> Vec<Value> {
        let r = self.get(&format!("/commissions{query}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["commissions"].as_array().unwrap().clone()
    }
}

/// ISO ms timestamp `ms` milliseconds after 2026-01-01T00:00:00Z.
pub fn ts(ms: i64) -> String {
    let base = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
    (base + chrono::Duration::milliseconds(ms))
        .with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub const DAY: i64 = 86_400_000;
pub const MIN: i64 = 60_000;
