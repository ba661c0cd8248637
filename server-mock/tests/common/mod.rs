//! Test harness: one fresh in-memory server per test, raw HTTP with reqwest and
//! `serde_json::Value` (field names straight from API.md, never the SDK).
#![allow(dead_code)]

use openpartner_mock::{Config, RunningServer, Tenancy};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

/// The bootstrap admin key used by every test server.
pub const ADMIN: &str = "test-bootstrap-admin-key";

/// A response: status, headers and the JSON body (`Value::Null` when not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// The `error` code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
    /// A header as str.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts the status and the error code.
    #[track_caller]
    pub fn assert_err(&self, status: u16, code: &str) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.text);
    }
    /// Asserts the status.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        &self.body
    }
}

/// A test server plus an HTTP client.
pub struct T {
    pub srv: RunningServer,
    pub http: reqwest::Client,
    /// Where tenant routes live (`base_url` or `<base>/t/<slug>`).
    pub base: String,
    /// Holds the database file (dropped after the server).
    _db_dir: tempfile::TempDir,
}

pub async fn start() -> T {
    start_with(|_| {}).await
}

/// A server on a fresh SQLite file (`synchronous=OFF`: the tests want the file database
/// path — WAL, writer thread, group commit — not its fsyncs), adjusted by `f`.
pub async fn start_with(f: impl FnOnce(&mut Config)) -> T {
    let db_dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::for_tests(ADMIN);
    cfg.db = db_dir.path().join("t.db").display().to_string();
    cfg.synchronous = openpartner_mock::db::Synchronous::Off;
    f(&mut cfg);
    let multi = cfg.tenancy == Tenancy::Multi;
    let first = cfg.tenants.first().cloned();
    let srv = openpartner_mock::spawn(cfg).await.expect("server starts");
    let base = match (multi, first) {
        (true, Some(slug)) => srv.tenant_url(&slug),
        _ => srv.base_url.clone(),
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    T {
        srv,
        http,
        base,
        _db_dir: db_dir,
    }
}

/// Credentials: `ops_…` strings are sent as the session cookie, anything else as Bearer.
pub fn apply_cred(rb: reqwest::RequestBuilder, cred: Option<&str>) -> reqwest::RequestBuilder {
    match cred {
        None => rb,
        Some(c) if c.starts_with("ops_") => rb.header("cookie", format!("op_session={c}")),
        Some(c) => rb.bearer_auth(c),
    }
}

pub async fn send(rb: reqwest::RequestBuilder) -> Resp {
    let r = rb.send().await.expect("request sent");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
        text,
    }
}

impl T {
    /// Full URL of a tenant route.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        cred: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut rb = self.http.request(method, self.url(path));
        rb = apply_cred(rb, cred);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        send(rb).await
    }

    pub async fn get(&self, path: &str, cred: Option<&str>) -> Resp {
        self.call(Method::GET, path, cred, None).await
    }

    pub async fn post(&self, path: &str, cred: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, cred, Some(body)).await
    }

    pub async fn delete(&self, path: &str, cred: Option<&str>) -> Resp {
        self.call(Method::DELETE, path, cred, None).await
    }

    /// Creates a partner (admin), returns the row.
    pub async fn partner(&self, email: &str, send_invite: bool) -> Value {
        let r = self
            .post(
                "/partners",
                Some(ADMIN),
                json!({"email": email, "name": format!("Partner {email}"), "sendInvite": send_invite}),
            )
            .await;
        r.assert_status(201).clone()
    }

    /// Creates an activated partner and a key for it: (partner id, key).
    pub async fn partner_with_key(&self, email: &str) -> (String, String) {
        let p = self.partner(email, false).await;
        let id = p["id"].as_str().expect("id").to_owned();
        let k = self
            .post(&format!("/partners/{id}/api-keys"), Some(ADMIN), json!({}))
            .await;
        let key = k.assert_status(201)["plaintext"]
            .as_str()
            .expect("plaintext")
            .to_owned();
        (id, key)
    }

    /// Creates a scoped key with `scopes`.
    pub async fn scoped_key(&self, scopes: &[&str]) -> String {
        let r = self
            .post("/api-keys/scoped", Some(ADMIN), json!({"scopes": scopes}))
            .await;
        r.assert_status(201)["plaintext"]
            .as_str()
            .expect("plaintext")
            .to_owned()
    }

    /// Creates a DB admin key.
    pub async fn admin_key(&self) -> String {
        let r = self.post("/api-keys", Some(ADMIN), json!({})).await;
        r.assert_status(201)["plaintext"]
            .as_str()
            .expect("plaintext")
            .to_owned()
    }

    /// All mailbox messages of the tenant.
    pub async fn mailbox(&self) -> Vec<Value> {
        let r = self.get("/dev/mailbox", Some(ADMIN)).await;
        r.assert_status(200)["messages"]
            .as_array()
            .expect("messages")
            .clone()
    }

    /// The token of the last mail to `to` with `purpose`.
    pub async fn last_token(&self, to: &str, purpose: &str) -> Option<String> {
        self.mailbox()
            .await
            .iter()
            .rev()
            .find(|m| m["to"] == to && m["metadata"]["purpose"] == purpose)
            .and_then(|m| m["metadata"]["token"].as_str().map(str::to_owned))
    }

    /// Verifies a magic token, returns (response, session token from Set-Cookie).
    pub async fn verify(&self, token: &str) -> (Resp, Option<String>) {
        let r = self
            .post("/auth/magic/verify", None, json!({"token": token}))
            .await;
        let session = r.header("set-cookie").and_then(|c| {
            c.strip_prefix("op_session=")
                .and_then(|rest| rest.split(';').next())
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        });
        (r, session)
    }

    /// A partner session for a new invited partner: (partner id, session token).
    pub async fn partner_session(&self, email: &str) -> (String, String) {
        let p = self.partner(email, true).await;
        let token = self
            .last_token(email, "partner_invite")
            .await
            .expect("invite mail");
        let (r, s) = self.verify(&token).await;
        r.assert_status(200);
        (
            p["id"].as_str().expect("id").to_owned(),
            s.expect("session cookie"),
        )
    }

    /// Runs SQL against the server's database (test setup only).
    pub fn sql(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) {
        let (sql, params) = (sql.to_owned(), owned_params(params));
        self.srv
            .state()
            .db
            .with_blocking(move |c| {
                c.execute(&sql, rusqlite::params_from_iter(params))
                    .expect("sql")
            })
            .expect("db");
    }

    /// A single integer from SQL.
    pub fn sql_i64(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> i64 {
        self.srv
            .state()
            .db
            .with_blocking({
                let (sql, params) = (sql.to_owned(), owned_params(params));
                move |c| {
                    c.query_row(&sql, rusqlite::params_from_iter(params), |r| r.get(0))
                        .expect("sql")
                }
            })
            .expect("db")
    }
}

/// Owned copies of SQL parameters, so a query can be sent to the database thread.
fn owned_params(params: &[&dyn rusqlite::ToSql]) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::{ToSqlOutput, Value};
    params
        .iter()
        .map(|p| match p.to_sql().expect("sql param") {
            ToSqlOutput::Borrowed(v) => Value::from(v),
            ToSqlOutput::Owned(v) => v,
            _ => panic!("unsupported sql param"),
        })
        .collect()
}

/// The default tenant id.
pub const DEFAULT_TENANT: &str = "01J0000000DEFAULTTENANT0000";

/// Inserts a program row directly (the programs routes belong to another module).
pub fn insert_program(t: &T, tenant_id: &str, id: &str) {
    t.sql(
        "INSERT INTO programs (id, tenant_id, name, commission_rule, destination_url, created_at, updated_at)
         VALUES (?1, ?2, 'Program', '[{\"trigger\":\"every\",\"type\":\"percent\",\"value\":20}]', 'https://example.com', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')",
        &[&id, &tenant_id],
    );
}
