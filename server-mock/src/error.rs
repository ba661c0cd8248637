//! The one error type of the server: every failure answers
//! `{"error":"<snake_code>","detail"?:…, <extra top-level fields>}` (API.md §1).

use std::borrow::Cow;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// An API error: status, stable `error` code, optional `detail`, optional extra
/// top-level fields (`required`, `missing`, `matureAt`, …) and extra headers.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code (`error` field).
    pub code: Cow<'static, str>,
    /// `detail`, extra fields and headers (boxed to keep `Result<_, ApiError>` small).
    pub more: Box<More>,
}

/// The optional parts of an [`ApiError`].
#[derive(Debug, Clone, Default)]
pub struct More {
    /// Optional `detail` (text or object).
    pub detail: Option<Value>,
    /// Extra top-level fields.
    pub extra: Map<String, Value>,
    /// Extra response headers (`Allow`, `Retry-After`, …).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// The error body of every failure, `{"error","detail"?}` plus the extra top-level fields
/// some errors add (API.md §1) — the `Error` schema of the OpenAPI document.
#[derive(Debug, utoipa::ToSchema)]

pub struct ErrorBody {
    /// Stable snake_case code, e.g. `not_found`, `invalid_body`.
    pub error: String,
    /// Text or an object; for `invalid_body` / `invalid_query`
    /// `{"formErrors":[…],"fieldErrors":{"field":["msg"]}}`.
    #[schema(schema_with = detail_schema)]
    pub detail: Option<Value>,
}

/// The schema of `detail`: a string or an object (absent when there is none).
fn detail_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    Schema::OneOf(
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(ObjectBuilder::new().schema_type(Type::Object))
            .description(Some(
                "Text or an object; for `invalid_body` / `invalid_query` \
             `{\"formErrors\":[…],\"fieldErrors\":{\"field\":[\"msg\"]}}`",
            ))
            .build(),
    )
}

/// Result alias used by handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with the given status and code.
    pub fn new(status: StatusCode, code: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            status,
            code: code.into(),
            more: Box::default(),
        }
    }
    /// Sets `detail`.
    pub fn detail(mut self, detail: impl Into<Value>) -> Self {
        self.more.detail = Some(detail.into());
        self
    }
    /// Adds an extra top-level field.
    pub fn field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.more.extra.insert(key.to_owned(), value.into());
        self
    }
    /// Adds a response header (ignored when the value is not a valid header value).
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.more.headers.push((name, v));
        }
        self
    }

    /// 400 with a code.
    pub fn bad_request(code: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code)
    }
    /// 401 `unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized")
    }
    /// 403 `forbidden`.
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden")
    }
    /// 403 with a specific code.
    pub fn forbidden_code(code: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code)
    }
    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found")
    }
    /// 404 with a specific code.
    pub fn not_found_code(code: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code)
    }
    /// 404 `route_not_found` (unknown route).
    pub fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "route_not_found")
    }
    /// 409 with a code.
    pub fn conflict(code: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, code)
    }
    /// 500 `internal_error` (never carries internals).
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
    }
    /// 400 `invalid_body` with a validation detail.
    pub fn invalid_body(v: Validation) -> Self {
        Self::bad_request("invalid_body").detail(v.into_detail())
    }
    /// 400 `invalid_query` with a validation detail.
    pub fn invalid_query(v: Validation) -> Self {
        Self::bad_request("invalid_query").detail(v.into_detail())
    }
    /// 400 `invalid_body` with one field error.
    pub fn body_field(field: &str, msg: &str) -> Self {
        Self::invalid_body(Validation::new().field(field, msg))
    }
    /// 400 `invalid_query` with one field error.
    pub fn query_field(field: &str, msg: &str) -> Self {
        Self::invalid_query(Validation::new().field(field, msg))
    }

    /// The JSON body of this error.
    pub fn body(&self) -> Value {
        let mut m = Map::new();
        m.insert("error".into(), Value::String(self.code.to_string()));
        if let Some(d) = &self.more.detail {
            m.insert("detail".into(), d.clone());
        }
        for (k, v) in &self.more.extra {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut resp = (self.status, axum::Json(body)).into_response();
        for (k, v) in self.more.headers {
            resp.headers_mut().append(k, v);
        }
        resp
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        tracing::error!(error = %e, "database error");
        ApiError::internal()
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        tracing::error!(error = %e, "json error");
        ApiError::internal()
    }
}

/// Builder for the validation detail
/// `{"formErrors":[…],"fieldErrors":{"field":["msg"]}}`.
#[derive(Debug, Default, Clone)]
pub struct Validation {
    form: Vec<String>,
    fields: Map<String, Value>,
}

impl Validation {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a message for `field`.
    pub fn field(mut self, field: &str, msg: &str) -> Self {
        self.push(field, msg);
        self
    }
    /// Adds a message for `field` in place.
    pub fn push(&mut self, field: &str, msg: &str) {
        let entry = self
            .fields
            .entry(field.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = entry {
            a.push(Value::String(msg.to_owned()));
        }
    }
    /// Adds a form-level message in place.
    pub fn push_form(&mut self, msg: &str) {
        self.form.push(msg.to_owned());
    }
    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.form.is_empty() && self.fields.is_empty()
    }
    /// `Err(400 invalid_body)` when anything was recorded.
    pub fn finish_body(self) -> ApiResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_body(self))
        }
    }
    /// `Err(400 invalid_query)` when anything was recorded.
    pub fn finish_query(self) -> ApiResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid_query(self))
        }
    }
    /// The detail object.
    pub fn into_detail(self) -> Value {
        json!({"formErrors": self.form, "fieldErrors": Value::Object(self.fields)})
    }
}
