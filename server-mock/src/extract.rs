//! Request extractors with the API's rejections (never axum's text bodies):
//! [`Json`] (400 `invalid_body`, 413 `payload_too_large`) and [`QueryParams`]
//! (400 `invalid_query`, with typed getters that reject out-of-range values).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Validation};

/// Maximum request body size (1 MiB).
pub const MAX_BODY: usize = 1024 * 1024;

/// A JSON body. Requires `Content-Type: application/json` (any charset) when a body is
/// present; an empty body is read as `{}` (like Express' `express.json()`), so routes whose
/// fields are all optional accept a bare POST. Unknown fields are ignored by the target
/// types (no `deny_unknown_fields`).
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

/// True when the request's content type is `application/json` (parameters allowed).
pub fn is_json_content_type(parts_ct: Option<&axum::http::HeaderValue>) -> bool {
    let Some(ct) = parts_ct.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// 413 `payload_too_large`.
pub fn payload_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        .detail("request bodies are limited to 1 MiB")
}

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_ct = is_json_content_type(req.headers().get(header::CONTENT_TYPE));
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                payload_too_large()
            } else {
                ApiError::invalid_body(Validation::new().field("body", "could not read body"))
            }
        })?;
        parse_json_body(&bytes, json_ct).map(Json)
    }
}

/// Parses a raw body the way [`Json`] does (exposed for middleware and tests).
pub fn parse_json_body<T: DeserializeOwned>(bytes: &[u8], json_ct: bool) -> Result<T, ApiError> {
    let empty = bytes.iter().all(|b| b.is_ascii_whitespace());
    let bytes: &[u8] = if empty {
        b"{}"
    } else {
        if !json_ct {
            let mut v = Validation::new();
            v.push_form("Content-Type must be application/json");
            return Err(ApiError::invalid_body(v));
        }
        bytes
    };
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let mut v = Validation::new();
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                v.push_form("Malformed JSON");
            }
            _ => {
                let msg = strip_position(&inner.to_string());
                if let Some(field) = missing_field(&msg) {
                    let full = if path == "." {
                        field.to_owned()
                    } else {
                        format!("{path}.{field}")
                    };
                    v.push(&full, "Required");
                } else if path == "." {
                    v.push_form(&msg);
                } else {
                    v.push(&path, &msg);
                }
            }
        }
        ApiError::invalid_body(v)
    })
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn missing_field(msg: &str) -> Option<&str> {
    let rest = msg.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// A typed query string (serde, `application/x-www-form-urlencoded`); a value that does
/// not deserialize → 400 `invalid_query` (message in `formErrors`). Range checks (limits,
/// offsets) stay with the handler or with [`QueryParams::int_in`], which names the field.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Query(q.0))
            .map_err(|e| {
                let mut v = Validation::new();
                let text = e.body_text();
                let msg = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                v.push_form(msg);
                ApiError::invalid_query(v)
            })
    }
}

/// The decoded query string (`application/x-www-form-urlencoded`), with typed getters
/// that answer 400 `invalid_query` naming the field. Repeated keys: the last wins.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        Ok(QueryParams(
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

impl QueryParams {
    /// The raw value of `name` (last occurrence).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty string value; an empty value counts as absent.
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).filter(|s| !s.is_empty()).map(str::to_owned)
    }

    /// An integer in `[min, max]`, `default` when absent; out of range or not an integer
    /// → 400 `invalid_query` (never clamped).
    pub fn int_in(&self, name: &str, min: i64, max: i64, default: i64) -> Result<i64, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(default),
            Some(raw) => match raw.trim().parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                Ok(_) => Err(ApiError::query_field(
                    name,
                    &format!("must be between {min} and {max}"),
                )),
                Err(_) => Err(ApiError::query_field(name, "must be an integer")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct B {
        email: String,
        n: Option<u32>,
    }

    fn detail(e: ApiError) -> serde_json::Value {
        assert_eq!(e.code, "invalid_body");
        e.more.detail.clone().unwrap_or_default()
    }

    #[test]
    fn body_parsing_errors() {
        let d = detail(parse_json_body::<B>(b"{", true).unwrap_err());
        assert_eq!(d["formErrors"], serde_json::json!(["Malformed JSON"]));
        let d = detail(parse_json_body::<B>(b"{}", true).unwrap_err());
        assert_eq!(d["fieldErrors"]["email"], serde_json::json!(["Required"]));
        let d = detail(parse_json_body::<B>(br#"{"email":"x","n":-1}"#, true).unwrap_err());
        assert!(d["fieldErrors"]["n"].is_array());
        let d = detail(parse_json_body::<B>(br#"{"email":"x"}"#, false).unwrap_err());
        assert_eq!(d["formErrors"].as_array().map(Vec::len), Some(1));
        let d = detail(parse_json_body::<B>(br#""str""#, true).unwrap_err());
        assert_eq!(d["formErrors"].as_array().map(Vec::len), Some(1));
        // empty body = {} regardless of content type
        assert!(parse_json_body::<serde_json::Value>(b"", false).is_ok());
        assert_eq!(
            parse_json_body::<B>(br#"{"email":"x","extra":true}"#, true)
                .map(|b| b.email)
                .ok(),
            Some("x".to_owned())
        );
    }

    #[tokio::test]
    async fn typed_query() {
        #[derive(Deserialize)]
        struct Q {
            limit: Option<u32>,
        }
        let (mut parts, _) = axum::http::Request::builder()
            .uri("/x?limit=5")
            .body(())
            .unwrap_or_default()
            .into_parts();
        let q = Query::<Q>::from_request_parts(&mut parts, &()).await;
        assert_eq!(q.ok().and_then(|q| q.0.limit), Some(5));
        let (mut parts, _) = axum::http::Request::builder()
            .uri("/x?limit=abc")
            .body(())
            .unwrap_or_default()
            .into_parts();
        let e = Query::<Q>::from_request_parts(&mut parts, &()).await.err();
        assert_eq!(e.map(|e| e.code), Some("invalid_query".into()));
    }

    #[test]
    fn content_types() {
        let ok = |s: &str| {
            is_json_content_type(Some(
                &axum::http::HeaderValue::from_str(s)
                    .unwrap_or(axum::http::HeaderValue::from_static("x")),
            ))
        };
        assert!(ok("application/json"));
        assert!(ok("Application/JSON; charset=UTF-8"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/jsonp"));
        assert!(!is_json_content_type(None));
    }
}
