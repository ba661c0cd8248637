//! [`Client`], its builder, URL building (API.md §1) and the single request executor.
//!
//! Every handler describes a request as an internal `Req` (method, route, query, JSON body,
//! optional idempotency key) and hands it to the executor, which adds the tenant prefix,
//! credentials, `X-Request-Id`, `Idempotency-Key`, runs the retry loop of [`crate::retry`],
//! records the server's capabilities, maps errors and decodes bodies.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::capabilities::{Capabilities, Extension};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::redact;
use crate::retry::{self, Decision, Dedup, Outcome, RetryPolicy, Spent};

/// Tenant slugs that never resolve on a multi-tenant server (API.md §1).
pub const RESERVED_SLUGS: &[&str] = &[
    "default", "www", "api", "app", "admin", "signup", "login", "auth", "docs", "help", "support",
    "status", "network", "static", "public", "platform",
];

const LOG_TARGET: &str = "openpartner::http";
const EXTENSIONS_HEADER: &str = "openpartner-extensions";
const REQUEST_ID_HEADER: &str = "x-request-id";

/// Validates a tenant slug: `[a-z0-9-]+` and not reserved.
///
/// Errors: [`Error::Config`] naming the problem.
pub fn validate_tenant_slug(slug: &str) -> Result<()> {
    if slug.is_empty() {
        return Err(Error::Config("tenant slug is empty".into()));
    }
    if !slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(Error::Config(format!(
            "invalid tenant slug {slug:?}: only lowercase letters, digits and '-' are allowed"
        )));
    }
    if RESERVED_SLUGS.contains(&slug) {
        return Err(Error::Config(format!("tenant slug {slug:?} is reserved")));
    }
    Ok(())
}

/// Something usable as a base URL: `&str`, `String` or [`Url`].
pub trait IntoBaseUrl {
    /// Parses into a URL. Errors: [`Error::Config`].
    fn into_base_url(self) -> Result<Url>;
}

impl IntoBaseUrl for &str {
    fn into_base_url(self) -> Result<Url> {
        Url::parse(self.trim())
            .map_err(|e| Error::Config(format!("invalid base URL {self:?}: {e}")))
    }
}
impl IntoBaseUrl for String {
    fn into_base_url(self) -> Result<Url> {
        self.as_str().into_base_url()
    }
}
impl IntoBaseUrl for &String {
    fn into_base_url(self) -> Result<Url> {
        self.as_str().into_base_url()
    }
}
impl IntoBaseUrl for Url {
    fn into_base_url(self) -> Result<Url> {
        Ok(self)
    }
}
impl IntoBaseUrl for &Url {
    fn into_base_url(self) -> Result<Url> {
        Ok(self.clone())
    }
}

/// Builds a [`Client`]. Obtain with [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: Option<Result<Url>>,
    tenant: Option<String>,
    credentials: Option<Credentials>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    user_agent: String,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: None,
            tenant: None,
            credentials: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            user_agent: concat!("openpartner-rs/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

impl ClientBuilder {
    /// The server's base URL (required), e.g. `http://127.0.0.1:4100` or
    /// `https://app.example/api` or `https://app.example/api/t/acme`. Taken as opaque: route
    /// paths are appended after removing a trailing `/`; `/api` is never inserted.
    pub fn base_url(mut self, url: impl IntoBaseUrl) -> Self {
        self.base_url = Some(url.into_base_url());
        self
    }
    /// The tenant slug for a multi-tenant server: routes become `<base>/t/<slug>/<route>`.
    /// Validated at [`build`](Self::build) (`[a-z0-9-]+`, not reserved).
    pub fn tenant(mut self, slug: impl Into<String>) -> Self {
        self.tenant = Some(slug.into());
        self
    }
    /// The credentials to send (optional: health and sign-in need none).
    pub fn credentials(mut self, c: Credentials) -> Self {
        self.credentials = Some(c);
        self
    }
    /// Per-attempt timeout for the whole request including the body (default 30 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// Connection timeout (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    /// The retry policy (default [`RetryPolicy::default`]; [`RetryPolicy::none`] disables).
    pub fn retry(mut self, p: RetryPolicy) -> Self {
        self.retry = p;
        self
    }
    /// The `User-Agent` header (default `openpartner-rs/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Builds the client.
    ///
    /// Errors: [`Error::Config`] when the base URL is missing, not http(s), carries a query or
    /// fragment, or ends in `/t/<x>` while a tenant is also given; when the tenant slug is
    /// invalid or reserved; when the HTTP stack cannot be initialised.
    pub fn build(self) -> Result<Client> {
        let url = self
            .base_url
            .ok_or_else(|| Error::Config("base URL is required".into()))??;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(Error::Config(format!(
                "base URL must be http or https, got {:?}",
                url.scheme()
            )));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::Config(
                "base URL must not have a query or fragment".into(),
            ));
        }
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(Error::Config("base URL must have a host".into()));
        }
        let base_str = url.as_str().trim_end_matches('/').to_string();
        if let Some(t) = &self.tenant {
            validate_tenant_slug(t)?;
            let segs: Vec<&str> = url
                .path()
                .trim_end_matches('/')
                .split('/')
                .filter(|s| !s.is_empty())
                .collect();
            if segs.len() >= 2 && segs[segs.len() - 2] == "t" {
                return Err(Error::Config(format!(
                    "base URL already ends in /t/{}; do not also set a tenant",
                    segs[segs.len() - 1]
                )));
            }
        }
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url: url,
                base_str,
                tenant: self.tenant,
                retry: self.retry,
                caps: RwLock::new(Capabilities::default()),
            }),
            credentials: self.credentials,
            retry: None,
        })
    }
}

struct Inner {
    http: reqwest::Client,
    base_url: Url,
    base_str: String,
    tenant: Option<String>,
    retry: RetryPolicy,
    caps: RwLock<Capabilities>,
}

/// The API client. Cheap to clone; clones share one connection pool and the learned
/// capabilities. See the crate docs for an example.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    credentials: Option<Credentials>,
    /// A retry policy for the requests of this clone (`None`: the builder's).
    retry: Option<RetryPolicy>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_str)
            .field("tenant", &self.inner.tenant)
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// One HTTP response as seen by the raw API: any status. `Debug` masks what may carry a
/// secret (the body as [`redact::mask_json`] does, credential headers such as
/// `Set-Cookie`), so a logged response never shows a created key or a session token.
#[derive(Clone)]
pub struct RawResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body: `Null` when empty, the parsed JSON when it is JSON, else a JSON string.
    pub body: Value,
    /// The request id (echoed by the server, else the one the SDK sent).
    pub request_id: Option<String>,
}

impl std::fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("headers", &redact::headers_for_log(&self.headers))
            .field("body", &redact::mask_json(&self.body))
            .field("request_id", &self.request_id)
            .finish()
    }
}

/// What the response said about itself, beyond its body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseMeta {
    /// `true` when the server answered from its idempotency store (`Idempotent-Replayed:
    /// true`, \[EXT\] `idempotency`): an earlier request with the same `Idempotency-Key`
    /// already did the work, this one stored nothing new. That earlier request may be this
    /// call's own first attempt, when the SDK resent it after a timeout or a 5xx (the header
    /// describes the answer, not who caused the write).
    pub replayed: bool,
    /// The request id (echoed by the server, else the one the SDK sent).
    pub request_id: Option<String>,
}

impl ResponseMeta {
    fn of(resp: &Resp) -> ResponseMeta {
        ResponseMeta {
            replayed: resp
                .headers
                .get("idempotent-replayed")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
            request_id: resp.request_id.clone(),
        }
    }
}

/// A decoded response body with its [`ResponseMeta`]: what the builders of writes that a
/// caller may need to tell apart from a replay return (`events().track(..).send()`,
/// `clicks().record(..).send()`, `partners().create(..).send()`). Derefs to the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithMeta<T> {
    /// The decoded body.
    pub data: T,
    /// Replay flag and request id.
    pub meta: ResponseMeta,
}

impl<T> WithMeta<T> {
    /// The body, without the metadata.
    pub fn into_inner(self) -> T {
        self.data
    }
}

impl<T> std::ops::Deref for WithMeta<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.data
    }
}

impl RawResponse {
    /// `true` for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The SDK's [`Error::Api`] for a non-2xx response (the same code, detail, masking and
    /// one-line `Display` as every typed call), `None` for a 2xx one.
    pub fn error(&self) -> Option<Error> {
        if self.is_success() {
            return None;
        }
        Some(api_error_parts(
            self.status,
            self.body.clone(),
            &self.headers,
            self.request_id.clone(),
        ))
    }
}

/// A request description for the executor.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub idempotency_key: Option<String>,
    /// Send the client's credentials (false for routes that never read them).
    pub auth: bool,
    /// The route answers a repeat of this exact request as a no-op on every server
    /// ([`Dedup::Route`]), so it may be resent after a failure that may have reached it.
    pub route_dedup: bool,
}

impl Req {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Req {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotency_key: None,
            auth: true,
            route_dedup: false,
        }
    }
    pub fn get(path: impl Into<String>) -> Self {
        Req::new(Method::GET, path)
    }
    pub fn post(path: impl Into<String>) -> Self {
        Req::new(Method::POST, path)
    }
    pub fn delete(path: impl Into<String>) -> Self {
        Req::new(Method::DELETE, path)
    }
    pub fn query(mut self, k: &str, v: impl ToString) -> Self {
        self.query.push((k.to_string(), v.to_string()));
        self
    }
    pub fn query_opt(self, k: &str, v: Option<impl ToString>) -> Self {
        match v {
            Some(v) => self.query(k, v),
            None => self,
        }
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    pub fn idempotency_key(mut self, k: Option<String>) -> Self {
        self.idempotency_key = k;
        self
    }
    pub fn no_auth(mut self) -> Self {
        self.auth = false;
        self
    }
    /// Marks a POST the route itself deduplicates (see [`Req::route_dedup`]).
    pub fn deduplicated_by_route(mut self) -> Self {
        self.route_dedup = true;
        self
    }
}

/// The last attempt of a request: its [`Answer`] and the request id.
pub(crate) struct Attempted {
    pub answer: Answer,
    pub request_id: String,
}

/// What the last attempt got.
pub(crate) enum Answer {
    /// A 1xx–3xx response whose body is still unread ([`Body::Streamed`] requests).
    Unread(reqwest::Response),
    /// A response read in full: every error answer, and every answer of a
    /// [`Body::Buffered`] request.
    Read(Resp),
}

/// How the executor treats the body of a successful answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// Read it inside the retry loop: a body that breaks off (connection closed mid-body)
    /// is a transport failure of that attempt, retried like any other.
    Buffered,
    /// Hand it to the caller unread (constant-memory streams); a break mid-body is the
    /// caller's error.
    Streamed,
}

/// The `error` code of an error body (API.md §1 shape), when it has one.
fn error_code(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Shape {
        error: String,
    }
    serde_json::from_slice::<Shape>(body).ok().map(|s| s.error)
}

/// A response body read in full.
#[derive(Debug)]
pub(crate) struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub request_id: Option<String>,
}

/// Percent-encodes one path segment (ids are opaque and may contain anything).
pub(crate) fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether a route is served without the tenant prefix (API.md §1).
fn is_root_route(path: &str) -> bool {
    let p = path.split(['?', '#']).next().unwrap_or(path);
    p == "/health" || p == "/openapi.json" || p == "/platform" || p.starts_with("/platform/")
}

impl Client {
    /// Starts a [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A clone using other credentials, sharing the connection pool and capabilities.
    pub fn with_credentials(&self, c: Credentials) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            credentials: Some(c),
            retry: self.retry.clone(),
        }
    }

    /// A clone whose requests use `policy` instead of the builder's retry policy, sharing
    /// the connection pool, credentials and capabilities. What every request builder's
    /// `.retry(policy)` does; use it directly for the handler methods that send at once
    /// (e.g. `client.with_retry(RetryPolicy::bulk()).partners().get(id)`).
    pub fn with_retry(&self, policy: RetryPolicy) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            credentials: self.credentials.clone(),
            retry: Some(policy),
        }
    }

    /// The retry policy this clone's requests use.
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.retry.as_ref().unwrap_or(&self.inner.retry)
    }

    /// A clone sending no credentials, sharing the connection pool and capabilities.
    pub fn without_credentials(&self) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            credentials: None,
            retry: self.retry.clone(),
        }
    }

    /// The configured base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The configured tenant slug.
    pub fn tenant(&self) -> Option<&str> {
        self.inner.tenant.as_deref()
    }

    /// The credentials in use.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The capabilities from the last `OpenPartner-Extensions` header seen (empty and
    /// `known() == false` before any response).
    pub fn capabilities(&self) -> Capabilities {
        match self.inner.caps.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Calls `GET /health` (no auth, no tenant prefix) and returns the capabilities it
    /// advertised. Errors: transport errors and non-2xx as [`Error::Api`].
    pub async fn refresh_capabilities(&self) -> Result<Capabilities> {
        let resp = self.execute(Req::get("/health").no_auth()).await?;
        if !resp.status.is_success() {
            return Err(api_error(&resp));
        }
        Ok(self.capabilities())
    }

    /// Returns `Ok` when the server advertises `ext`, refreshing capabilities via
    /// `GET /health` first if no response has been seen yet.
    ///
    /// Errors: [`Error::Unsupported`] naming the extension; errors of the refresh.
    pub async fn require_extension(&self, ext: Extension) -> Result<()> {
        let mut caps = self.capabilities();
        if !caps.known() {
            caps = self.refresh_capabilities().await?;
        }
        if caps.has(ext.clone()) {
            Ok(())
        } else {
            Err(Error::Unsupported {
                feature: ext.as_str().to_string(),
            })
        }
    }

    /// Capabilities, refreshed through `GET /health` when none are known yet.
    pub(crate) async fn known_capabilities(&self) -> Result<Capabilities> {
        let caps = self.capabilities();
        if caps.known() {
            Ok(caps)
        } else {
            self.refresh_capabilities().await
        }
    }

    /// Builds the full URL of a route per API.md §1.
    ///
    /// `path` starts with `/` and may carry a `?query`. Errors: [`Error::Config`] when the
    /// result is not a valid URL.
    pub fn url_for(&self, path: &str) -> Result<Url> {
        if path.contains("://") && !path.starts_with('/') {
            return Err(Error::Config(format!(
                "expected a route path such as /partners, got an absolute URL {path:?}"
            )));
        }
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let mut s = self.inner.base_str.clone();
        if let Some(t) = &self.inner.tenant {
            if !is_root_route(&path) {
                s.push_str("/t/");
                s.push_str(t);
            }
        }
        s.push_str(&path);
        Url::parse(&s).map_err(|e| Error::Config(format!("invalid URL {s:?}: {e}")))
    }

    /// The raw escape hatch (`openpartner api`): sends `method path` with an optional JSON
    /// body through the same executor (auth, tenant prefix, request id, idempotency key,
    /// retries, logging). `path` may include `?query`; `/health`, `/openapi.json` and
    /// `/platform/*` go without the tenant prefix.
    ///
    /// Returns `Ok` for ANY status; errors only for transport failures, timeouts and
    /// configuration problems.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<RawResponse> {
        let mut req = Req::new(method, path);
        req.body = body;
        let resp = self.execute(req).await?;
        Ok(RawResponse {
            status: resp.status.as_u16(),
            body: body_value(&resp.body),
            headers: resp.headers,
            request_id: resp.request_id,
        })
    }

    // ------------------------------------------------------------------ executor

    /// Runs the request (with retries) and returns the final response read in full,
    /// whatever its status.
    pub(crate) async fn execute(&self, req: Req) -> Result<Resp> {
        match self.execute_streaming(&req, Body::Buffered).await?.answer {
            Answer::Read(resp) => Ok(resp),
            Answer::Unread(resp) => Err(Error::Transport {
                message: format!(
                    "internal: a buffered request got an unread {} answer",
                    resp.status()
                ),
                may_have_been_sent: true,
                request_id: response_request_id(resp.headers()),
            }),
        }
    }

    /// Runs the retry loop and returns the final answer: with [`Body::Streamed`] a 1xx–3xx
    /// `reqwest::Response` unread, else every answer read in full (error answers always
    /// are). A body that breaks off while it is read here (the connection closed mid-body)
    /// is a transport failure of the attempt that may have been processed, decided by
    /// [`retry::decide`] like a failure before the status.
    pub(crate) async fn execute_streaming(&self, req: &Req, body_mode: Body) -> Result<Attempted> {
        let request_id = ulid::Ulid::new().to_string();
        let mut url = self.url_for(&req.path)?;
        if !req.query.is_empty() {
            let mut qp = url.query_pairs_mut();
            for (k, v) in &req.query {
                qp.append_pair(k, v);
            }
        }
        let creds = if req.auth {
            self.credentials.as_ref()
        } else {
            None
        };
        let idempotency_key = if req.method == Method::POST {
            Some(
                req.idempotency_key
                    .clone()
                    .unwrap_or_else(|| ulid::Ulid::new().to_string()),
            )
        } else {
            req.idempotency_key.clone()
        };
        let route = req.path.split('?').next().unwrap_or("");
        // The server honours keys on authenticated POSTs outside /auth/* (API.md §5).
        let dedup = if req.route_dedup {
            Dedup::Route
        } else {
            Dedup::from(
                req.method == Method::POST
                    && idempotency_key.is_some()
                    && creds.is_some()
                    && !route.starts_with("/auth/"),
            )
        };

        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            REQUEST_ID_HEADER,
            HeaderValue::from_str(&request_id).map_err(|e| Error::Config(e.to_string()))?,
        );
        if let Some(c) = creds {
            let (name, value) = c.header();
            let mut v = HeaderValue::from_str(&value).map_err(|_| {
                Error::Config("credentials contain characters not allowed in a header".into())
            })?;
            v.set_sensitive(true);
            headers.insert(name, v);
        }
        if let Some(k) = &idempotency_key {
            if k.is_empty() || k.len() > 255 || !k.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
                return Err(Error::Config(
                    "an idempotency key must be 1 to 255 printable ASCII characters".into(),
                ));
            }
            headers.insert(
                "idempotency-key",
                HeaderValue::from_str(k)
                    .map_err(|_| Error::Config("invalid idempotency key".into()))?,
            );
        }
        let body_bytes = match &req.body {
            Some(b) => {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                Some(
                    serde_json::to_vec(b)
                        .map_err(|e| Error::Config(format!("cannot serialise body: {e}")))?,
                )
            }
            None => None,
        };
        if tracing::enabled!(target: LOG_TARGET, tracing::Level::TRACE) {
            if let Some(b) = &req.body {
                tracing::trace!(target: LOG_TARGET, request_id = %request_id,
                    body = %redact::truncate(&redact::mask_json(b).to_string(), 4096), "request body");
            }
        }

        let policy = self.retry_policy();
        let mut spent = Spent::default();
        loop {
            let attempt = spent.retries + spent.rate_limit_waits + spent.in_flight_waits + 1;
            let started = Instant::now();
            let mut rb = self
                .inner
                .http
                .request(req.method.clone(), url.clone())
                .headers(headers.clone());
            if let Some(b) = &body_bytes {
                rb = rb.body(b.clone());
            }
            let result = rb.send().await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let (outcome, give_up) = match result {
                Ok(resp) => {
                    let status = resp.status();
                    self.note_capabilities(status, resp.headers());
                    tracing::debug!(
                        target: LOG_TARGET,
                        method = %req.method,
                        url = %url,
                        status = status.as_u16(),
                        request_id = %request_id,
                        elapsed_ms,
                        attempt,
                        request_headers = %redact::headers_for_log(&headers),
                        response_headers = %redact::headers_for_log(resp.headers()),
                        "http attempt"
                    );
                    let ok =
                        status.is_success() || status.is_informational() || status.is_redirection();
                    if ok && body_mode == Body::Streamed {
                        return Ok(Attempted {
                            answer: Answer::Unread(resp),
                            request_id,
                        });
                    }
                    // An error answer is small: read it here, so that the decision can see
                    // its code (409 `idempotency_key_in_flight`). A buffered answer is read
                    // here too, so that a body cut off mid-way is retried.
                    let hint = retry::wait_hint(status.as_u16(), resp.headers(), SystemTime::now());
                    let resp_headers = resp.headers().clone();
                    let rid =
                        response_request_id(&resp_headers).or_else(|| Some(request_id.clone()));
                    match resp.bytes().await {
                        Ok(body) => {
                            if tracing::enabled!(target: LOG_TARGET, tracing::Level::TRACE) {
                                tracing::trace!(
                                    target: LOG_TARGET,
                                    request_id = %request_id,
                                    attempt,
                                    status = status.as_u16(),
                                    elapsed_ms = started.elapsed().as_millis() as u64,
                                    body = %redact::body_snippet(&body, 4096),
                                    "response body"
                                );
                            }
                            let read = Resp {
                                status,
                                headers: resp_headers,
                                body,
                                request_id: rid,
                            };
                            if ok {
                                return Ok(Attempted {
                                    answer: Answer::Read(read),
                                    request_id,
                                });
                            }
                            let outcome = if status == StatusCode::CONFLICT
                                && error_code(&read.body).as_deref()
                                    == Some("idempotency_key_in_flight")
                            {
                                Outcome::KeyInFlight
                            } else {
                                Outcome::Status {
                                    status: status.as_u16(),
                                    retry_after: hint,
                                }
                            };
                            (
                                outcome,
                                Ok(Attempted {
                                    answer: Answer::Read(read),
                                    request_id: request_id.clone(),
                                }),
                            )
                        }
                        // The status arrived, the body broke off: the request was processed
                        // (or not) exactly as after a connection lost before the status.
                        Err(e) => {
                            tracing::debug!(
                                target: LOG_TARGET,
                                method = %req.method,
                                url = %url,
                                request_id = %request_id,
                                status = status.as_u16(),
                                attempt,
                                error = %redact::mask_text(&e.to_string()),
                                "http attempt failed while reading the body"
                            );
                            let outcome = if e.is_timeout() {
                                Outcome::Timeout { sent: true }
                            } else {
                                Outcome::Transport { sent: true }
                            };
                            (
                                outcome,
                                Err(transport_error(&e, true, Some(request_id.clone()))),
                            )
                        }
                    }
                }
                Err(e) => {
                    let never_connected = e.is_connect();
                    let outcome = if e.is_timeout() {
                        Outcome::Timeout {
                            sent: !never_connected,
                        }
                    } else {
                        Outcome::Transport {
                            sent: !never_connected,
                        }
                    };
                    tracing::debug!(
                        target: LOG_TARGET,
                        method = %req.method,
                        url = %url,
                        request_id = %request_id,
                        elapsed_ms,
                        attempt,
                        error = %redact::mask_text(&e.to_string()),
                        may_have_been_sent = !never_connected,
                        "http attempt failed"
                    );
                    let error = transport_error(&e, !never_connected, Some(request_id.clone()));
                    (outcome, Err(error))
                }
            };
            // One decision for all: give up with what this attempt got, or wait and resend.
            let decision = retry::decide(
                policy,
                &spent,
                &outcome,
                &req.method,
                dedup,
                &self.capabilities(),
            );
            match decision {
                Decision::GiveUp => return give_up,
                Decision::Retry(wait, budget) => {
                    drop(give_up);
                    tracing::debug!(target: LOG_TARGET, request_id = %request_id, attempt,
                        outcome = ?outcome, ?budget, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                    spent.charge(decision);
                }
            }
        }
    }

    fn note_capabilities(&self, status: StatusCode, headers: &HeaderMap) {
        let new = match headers.get(EXTENSIONS_HEADER).and_then(|v| v.to_str().ok()) {
            Some(v) => Capabilities::from_header(v),
            // A response without the header from the server itself (not a gateway error)
            // means a base-API server: no extensions.
            None if status.as_u16() < 500 => Capabilities::none_known(),
            None => return,
        };
        match self.inner.caps.write() {
            Ok(mut c) => *c = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }

    /// Executes and decodes a 2xx JSON body into `T`; non-2xx → [`Error::Api`].
    pub(crate) async fn send_json<T: DeserializeOwned>(&self, req: Req) -> Result<T> {
        let resp = self.execute(req).await?;
        if !resp.status.is_success() {
            return Err(api_error(&resp));
        }
        decode(&resp)
    }

    /// Like [`Client::send_json`], with the response's [`ResponseMeta`].
    pub(crate) async fn send_json_meta<T: DeserializeOwned>(
        &self,
        req: Req,
    ) -> Result<WithMeta<T>> {
        let resp = self.execute(req).await?;
        if !resp.status.is_success() {
            return Err(api_error(&resp));
        }
        Ok(WithMeta {
            data: decode(&resp)?,
            meta: ResponseMeta::of(&resp),
        })
    }

    /// Executes and checks for 2xx, ignoring the body.
    pub(crate) async fn send_unit(&self, req: Req) -> Result<()> {
        let resp = self.execute(req).await?;
        if !resp.status.is_success() {
            return Err(api_error(&resp));
        }
        Ok(())
    }
}

fn response_request_id(h: &HeaderMap) -> Option<String> {
    h.get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn transport_error(e: &reqwest::Error, sent: bool, request_id: Option<String>) -> Error {
    if e.is_timeout() {
        Error::Timeout {
            may_have_been_sent: sent,
            request_id,
        }
    } else {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        Error::Transport {
            message: redact::mask_text(&msg),
            may_have_been_sent: sent,
            request_id,
        }
    }
}

/// Parses a body for [`RawResponse`] and [`Error::Api`]: Null when empty, JSON, else a string.
pub(crate) fn body_value(body: &[u8]) -> Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => v,
        Err(_) => Value::String(String::from_utf8_lossy(body).into_owned()),
    }
}

/// Maps a non-2xx response to [`Error::Api`] (API.md §1 error shape).
pub(crate) fn api_error(resp: &Resp) -> Error {
    api_error_parts(
        resp.status.as_u16(),
        body_value(&resp.body),
        &resp.headers,
        resp.request_id.clone(),
    )
}

/// [`api_error`] from a status, the parsed body ([`body_value`]), headers and request id.
fn api_error_parts(
    status: u16,
    body: Value,
    headers: &HeaderMap,
    request_id: Option<String>,
) -> Error {
    let (code, detail) = match &body {
        Value::Object(map) => {
            let code = map
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("http_{status}"));
            let detail = match map.get("detail") {
                Some(d) => Some(d.clone()),
                None => Some(body.clone()),
            };
            (code, detail)
        }
        Value::Null => (format!("http_{status}"), None),
        Value::String(s) => (
            format!("http_{status}"),
            Some(Value::String(redact::truncate(&redact::mask_text(s), 500))),
        ),
        other => (format!("http_{status}"), Some(other.clone())),
    };
    let body = match body {
        Value::String(s) => Value::String(redact::truncate(&redact::mask_text(&s), 2000)),
        b => b,
    };
    Error::Api {
        status,
        code,
        detail,
        body,
        request_id,
        retry_after: retry::wait_hint(status, headers, SystemTime::now()),
    }
}

/// Decodes a JSON body with a path-aware error.
pub(crate) fn decode<T: DeserializeOwned>(resp: &Resp) -> Result<T> {
    decode_bytes(&resp.body, resp.request_id.clone())
}

pub(crate) fn decode_bytes<T: DeserializeOwned>(
    body: &[u8],
    request_id: Option<String>,
) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let path = e.path().to_string();
            Err(Error::Decode {
                path,
                body_snippet: redact::body_snippet(body, 500),
                message: redact::mask_text(&e.into_inner().to_string()),
                request_id,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str, tenant: Option<&str>) -> Result<Client> {
        let mut b = Client::builder().base_url(base);
        if let Some(t) = tenant {
            b = b.tenant(t);
        }
        b.build()
    }

    #[test]
    fn url_rules() {
        // (base URL, tenant, path, expected URL)
        for (base, tenant, path, want) in [
            (
                "http://localhost:4100",
                None,
                "/partners",
                "http://localhost:4100/partners",
            ),
            (
                "https://host/api/",
                None,
                "/partners",
                "https://host/api/partners",
            ),
            (
                "https://app.example/api",
                Some("acme"),
                "/partners/p1",
                "https://app.example/api/t/acme/partners/p1",
            ),
            // Untenanted routes keep no `/t/<slug>` prefix.
            (
                "https://app.example/api",
                Some("acme"),
                "/health",
                "https://app.example/api/health",
            ),
            (
                "https://app.example/api",
                Some("acme"),
                "/openapi.json",
                "https://app.example/api/openapi.json",
            ),
            (
                "https://app.example/api",
                Some("acme"),
                "/platform/tenants?limit=5",
                "https://app.example/api/platform/tenants?limit=5",
            ),
            (
                "https://app.example/api",
                Some("acme"),
                "/partners?email=a%40b.c",
                "https://app.example/api/t/acme/partners?email=a%40b.c",
            ),
            // A base URL that already carries the tenant works without `.tenant()`.
            (
                "https://app.example/api/t/acme",
                None,
                "/partners",
                "https://app.example/api/t/acme/partners",
            ),
            (
                "https://app.example/api/t/acme",
                None,
                "partners",
                "https://app.example/api/t/acme/partners",
            ),
            // /api is never inserted.
            (
                "http://127.0.0.1:9",
                Some("acme"),
                "/partners",
                "http://127.0.0.1:9/t/acme/partners",
            ),
        ] {
            let c = client(base, tenant).unwrap();
            assert_eq!(
                c.url_for(path).unwrap().as_str(),
                want,
                "{base} {tenant:?} {path}"
            );
        }
        let c = client("https://app.example/api/t/acme", None).unwrap();
        assert!(matches!(
            c.url_for("http://evil.example/x"),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn config_errors() {
        for (base, tenant) in [
            ("https://app.example/api/t/acme", Some("acme")),
            ("https://app.example/api/t/acme/", Some("other")),
            ("http://x", Some("Acme")),
            ("http://x", Some("ac me")),
            ("http://x", Some("")),
            ("http://x", Some("admin")),
            ("http://x", Some("platform")),
            ("http://x", Some("default")),
            ("ftp://x", None),
            ("not a url", None),
            ("http://x/?a=1", None),
        ] {
            let r = client(base, tenant);
            assert!(matches!(r, Err(Error::Config(_))), "{base} {tenant:?}");
        }
        assert!(matches!(Client::builder().build(), Err(Error::Config(_))));
        assert!(client("http://x", Some("acme-2")).is_ok());
    }

    #[test]
    fn segment_encoding() {
        assert_eq!(seg("01ABC"), "01ABC");
        assert_eq!(seg("a/b c?"), "a%2Fb%20c%3F");
        assert_eq!(seg("ext-é"), "ext-%C3%A9");
    }

    fn resp(status: StatusCode, body: &'static [u8], request_id: Option<&str>) -> Resp {
        Resp {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body),
            request_id: request_id.map(str::to_string),
        }
    }

    #[test]
    fn api_error_mapping() {
        let e = api_error(&resp(
            StatusCode::CONFLICT,
            br#"{"error":"holdback_active","detail":"wait","matureAt":"x"}"#,
            Some("rid"),
        ));
        assert_eq!(e.status(), Some(409));
        assert_eq!(e.code(), Some("holdback_active"));
        assert_eq!(e.request_id(), Some("rid"));
        assert!(e.is_conflict());
        match &e {
            Error::Api { detail, body, .. } => {
                assert_eq!(detail, &Some(Value::String("wait".into())));
                assert_eq!(body["matureAt"], "x");
            }
            _ => panic!(),
        }
        let forbidden = resp(
            StatusCode::FORBIDDEN,
            br#"{"error":"forbidden_scope","required":"partners:read"}"#,
            None,
        );
        match api_error(&forbidden) {
            Error::Api {
                detail: Some(d), ..
            } => assert_eq!(d["required"], "partners:read"),
            other => panic!("{other:?}"),
        }
        let shown = api_error(&forbidden).to_string();
        assert_eq!(
            shown,
            r#"API error 403 forbidden_scope: {"required":"partners:read"}"#
        );
        let e = api_error(&resp(StatusCode::NOT_FOUND, b"<html>nope</html>", None));
        assert_eq!(e.code(), Some("http_404"));
        assert!(e.is_unsupported());
    }
}
