//! Request extractors with the API's rejections (never axum's text bodies):
//! [`Json`] (400 `invalid_body`, 413 `payload_too_large`) and [`QueryParams`]
//! (400 `invalid_query`, with typed getters that reject out-of-range values); and the
//! router layer [`read_whole_body`], which reads every body before routing.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

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
    T: DeserializeOwned + ToSchema,
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

/// Router layer: reads every request body whole (up to [`MAX_BODY`], the limit set by the
/// router's `DefaultBodyLimit`) before routing, so a route that never looks at its body
/// (`GET /openapi.json` with a body, say) still consumes it. Otherwise hyper closes the
/// connection with the body's unread bytes in the socket, the kernel answers them with a
/// reset and the client can lose a response it was still reading.
///
/// Answers 413 `payload_too_large` over the limit (at once when `Content-Length` says
/// so, without waiting for the body) and 400 `invalid_body` (`body: could not
/// read body`) for a body that cannot be read (bad chunked encoding, client gone); else
/// hands the handler the same bytes.
pub async fn read_whole_body(
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        // at once: never wait for a body that would be refused anyway
        return payload_too_large().into_response();
    }
    let (parts, body) = req.into_parts();
    // the extensions carry the router's DefaultBodyLimit
    let mut whole = Request::new(body);
    *whole.extensions_mut() = parts.extensions.clone();
    match Bytes::from_request(whole, &()).await {
        Ok(bytes) => next.run(Request::from_parts(parts, bytes.into())).await,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            payload_too_large().into_response()
        }
        Err(_) => ApiError::invalid_body(Validation::new().field("body", "could not read body"))
            .into_response(),
    }
}

/// The form error of a body that is valid JSON but not an object.
pub const NOT_AN_OBJECT: &str = "Expected a JSON object";

/// Parses a raw body the way [`Json`] does (exposed for middleware and tests).
///
/// Takes the body bytes and whether the content type is JSON; returns the typed body or
/// 400 `invalid_body`: `formErrors` for a non-JSON content type, malformed JSON or a body
/// that is not a JSON object (array, string, number, `null`); otherwise `fieldErrors`
/// naming **every** missing required field (`"Required"`, from `T`'s schema) and every
/// field whose value does not fit, in plain words (never Rust type names). An empty body
/// is read as `{}`.
pub fn parse_json_body<T: DeserializeOwned + ToSchema>(
    bytes: &[u8],
    json_ct: bool,
) -> Result<T, ApiError> {
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    let Some(first) = first else {
        return parse_object::<T>(b"{}");
    };
    if !json_ct {
        let mut v = Validation::new();
        v.push_form("Content-Type must be application/json");
        return Err(ApiError::invalid_body(v));
    }
    if first != b'{' {
        // Not an object (or not JSON at all): never read a struct by field position.
        let mut v = Validation::new();
        match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => v.push_form(NOT_AN_OBJECT),
            Err(_) => v.push_form("Malformed JSON"),
        }
        return Err(ApiError::invalid_body(v));
    }
    parse_object::<T>(bytes)
}

/// Deserializes a body that starts with `{`: the fast path reads the bytes straight into
/// `T`; when that fails, [`collect_errors`] finds every bad field.
fn parse_object<T: DeserializeOwned + ToSchema>(bytes: &[u8]) -> Result<T, ApiError> {
    match serde_json::from_slice::<T>(bytes) {
        Ok(t) => Ok(t),
        Err(err) => {
            let mut v = Validation::new();
            match serde_json::from_slice::<Map<String, Value>>(bytes) {
                Err(e) if e.is_syntax() || e.is_eof() => v.push_form("Malformed JSON"),
                Err(_) => v.push_form(NOT_AN_OBJECT),
                Ok(map) => collect_errors::<T>(map, &mut v),
            }
            if v.is_empty() {
                // cannot happen (the fast path failed), but never answer 400 with no reason
                v.push_form(&plain_words(&strip_position(&err.to_string())));
            }
            Err(ApiError::invalid_body(v))
        }
    }
}

/// Records every error of `map` as a `T`: each missing required field (from `T`'s
/// schema), then each field whose value fails — found by removing the failing top-level
/// field and deserializing again (at most one round per field, plus one).
fn collect_errors<T: DeserializeOwned + ToSchema>(mut map: Map<String, Value>, v: &mut Validation) {
    let mut reported: Vec<String> = Vec::new();
    for field in required_fields::<T>() {
        if !map.contains_key(&field) {
            v.push(&field, "Required");
            reported.push(field);
        }
    }
    for _ in 0..=map.len() {
        // from bytes, not from a `Value`: numbers keep serde_json's own messages
        let Ok(bytes) = serde_json::to_vec(&map) else {
            return;
        };
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        let Err(err) = serde_path_to_error::deserialize::<_, T>(de) else {
            return;
        };
        let path = err.path().clone();
        let msg = strip_position(&err.into_inner().to_string());
        let top = match path.iter().next() {
            Some(serde_path_to_error::Segment::Map { key }) => Some(key.clone()),
            _ => None,
        };
        if let Some(field) = missing_field(&msg) {
            let full = match &top {
                Some(_) => format!("{path}.{field}"),
                None => field.to_owned(),
            };
            if !reported.contains(&full) {
                v.push(&full, "Required");
            }
            match top {
                // a nested object lacks a field: drop it and look further
                Some(key) => {
                    map.remove(&key);
                    reported.push(key);
                    continue;
                }
                None => return,
            }
        }
        match top {
            Some(key) if map.contains_key(&key) => {
                v.push(&path.to_string(), &plain_words(&msg));
                map.remove(&key);
                reported.push(key);
            }
            _ => {
                if !reported.iter().any(|r| msg.contains(&format!("`{r}`"))) {
                    v.push_form(&plain_words(&msg));
                }
                return;
            }
        }
    }
}

/// The top-level required property names of `T`'s schema (camelCase as on the wire).
fn required_fields<T: ToSchema>() -> Vec<String> {
    match T::schema() {
        RefOr::T(Schema::Object(o)) => o.required,
        _ => Vec::new(),
    }
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

/// Rewrites a serde message in plain words, without Rust type names:
/// `invalid type: string "x", expected u32` → `Expected a non-negative integer, received a
/// string`; `expected struct CreateBody` → `expected an object`; `i64` → `an integer`.
pub fn plain_words(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        if let Some((got, expected)) = rest.split_once(", expected ") {
            return format!(
                "Expected {}, received {}",
                plain_expected(expected),
                plain_got(got)
            );
        }
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ") {
        if let Some((_, expected)) = rest.split_once(", expected ") {
            return format!("Invalid value, expected {}", plain_expected(expected));
        }
    }
    if let Some(rest) = msg.strip_prefix("invalid length ") {
        if let Some((_, expected)) = rest.split_once(", expected ") {
            return format!("Invalid length, expected {}", plain_expected(expected));
        }
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        return format!("Invalid option {}", plain_expected(rest).replace('`', "\""));
    }
    plain_expected(msg)
}

/// What serde says it got (`string "x"`, `integer `5``, `map`, …) as a JSON kind.
fn plain_got(got: &str) -> &'static str {
    let kind = got.split([' ', '`']).next().unwrap_or(got);
    match kind {
        "string" | "char" => "a string",
        "integer" | "floating" => "a number",
        "boolean" => "a boolean",
        "map" => "an object",
        "sequence" => "an array",
        "null" | "unit" | "Option" => "null",
        _ => "another kind of value",
    }
}

/// Replaces Rust type names in an `expected …` text with JSON words.
fn plain_expected(text: &str) -> String {
    let mut out = Vec::new();
    let mut words = text.split(' ').peekable();
    while let Some(w) = words.next() {
        let (core, tail) = match w.find(|c: char| !(c.is_alphanumeric() || c == '_')) {
            Some(0) | None => (w, ""),
            Some(i) => (&w[..i], &w[i..]),
        };
        let replaced = match core {
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => Some("a non-negative integer"),
            "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => Some("an integer"),
            "f32" | "f64" => Some("a number"),
            "bool" => Some("a boolean"),
            "char" => Some("a single character"),
            "map" => Some("an object"),
            "sequence" => Some("an array"),
            "unit" => Some("null"),
            _ => None,
        };
        if let Some(r) = replaced {
            if out.last().is_some_and(|l: &String| l == "a" || l == "an") {
                out.pop();
            }
            out.push(format!("{r}{tail}"));
            continue;
        }
        if matches!(core, "struct" | "enum" | "variant") {
            // `struct CreateBody`, `tuple struct Foo`, `struct variant E::V`: a type name
            if out.last().is_some_and(|l: &String| l == "tuple") {
                out.pop();
            }
            let next = words.next().unwrap_or("");
            let tail: String = next
                .chars()
                .skip_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(
                if core == "enum" {
                    "one of the allowed values"
                } else {
                    "an object"
                }
                .to_owned()
                    + &tail,
            );
            // drop a trailing `with N elements`
            if words.peek() == Some(&"with") {
                for w in words.by_ref() {
                    if w.starts_with("element") {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(w.to_owned());
    }
    out.join(" ")
}

/// A typed query string (serde, `application/x-www-form-urlencoded`); an empty value
/// (`?limit=`) counts as absent, like [`QueryParams::string`]; a value that does not
/// deserialize → 400 `invalid_query` (message in `formErrors`, in plain words). Range checks (limits,
/// offsets) stay with the handler or with [`QueryParams::int_in`], which names the field.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // one rule with [`QueryParams`]: an empty value (`?limit=`) is the parameter absent
        let query = parts.uri.query().unwrap_or("");
        let mut kept = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if !v.is_empty() {
                kept.append_pair(&k, &v);
            }
        }
        let uri: axum::http::Uri = format!("/?{}", kept.finish())
            .parse()
            .unwrap_or_else(|_| axum::http::Uri::from_static("/"));
        axum::extract::Query::<T>::try_from_uri(&uri)
            .map(|q| Query(q.0))
            .map_err(|e| {
                let mut v = Validation::new();
                let text = e.body_text();
                let msg = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                v.push_form(&plain_words(msg));
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

    #[derive(Deserialize, Debug, utoipa::ToSchema)]
    #[allow(dead_code)]
    struct B {
        email: String,
        n: Option<u32>,
    }

    #[derive(Deserialize, Debug, utoipa::ToSchema)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Many {
        email: String,
        name: String,
        send_invite: Option<bool>,
        count: Option<i64>,
        program_ids: Option<Vec<String>>,
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

    /// Every message of a detail, joined (to look for Rust type names).
    fn all_messages(d: &serde_json::Value) -> String {
        d.to_string()
    }

    #[test]
    fn non_object_bodies_are_rejected() {
        for body in [
            &br#"["zed@example.com","Zed"]"#[..],
            b"[]",
            b"\"x\"",
            b"5",
            b"null",
            b"true",
        ] {
            let d = detail(parse_json_body::<Many>(body, true).unwrap_err());
            assert_eq!(
                d["formErrors"],
                serde_json::json!([NOT_AN_OBJECT]),
                "{body:?}"
            );
            // also for untyped bodies
            let d = detail(parse_json_body::<serde_json::Value>(body, true).unwrap_err());
            assert_eq!(
                d["formErrors"],
                serde_json::json!([NOT_AN_OBJECT]),
                "{body:?}"
            );
        }
        let d = detail(parse_json_body::<Many>(b"[1,", true).unwrap_err());
        assert_eq!(d["formErrors"], serde_json::json!(["Malformed JSON"]));
    }

    #[test]
    fn every_field_error_is_reported() {
        let d = detail(parse_json_body::<Many>(b"{}", true).unwrap_err());
        assert_eq!(d["fieldErrors"]["email"], serde_json::json!(["Required"]));
        assert_eq!(d["fieldErrors"]["name"], serde_json::json!(["Required"]));
        let d = detail(
            parse_json_body::<Many>(
                br#"{"sendInvite":"yes","count":1.5,"programIds":[1],"name":7}"#,
                true,
            )
            .unwrap_err(),
        );
        let f = d["fieldErrors"].as_object().cloned().unwrap_or_default();
        let mut keys: Vec<&str> = f.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["count", "email", "name", "programIds[0]", "sendInvite"],
            "{d}"
        );
        assert_eq!(f["email"], serde_json::json!(["Required"]));
        assert_eq!(
            f["sendInvite"],
            serde_json::json!(["Expected a boolean, received a string"])
        );
        assert_eq!(
            f["count"],
            serde_json::json!(["Expected an integer, received a number"])
        );
        assert_eq!(
            f["name"],
            serde_json::json!(["Expected a string, received a number"])
        );
        let text = all_messages(&d);
        for rust in ["i64", "u32", "bool\"", "struct", "Vec", "Option", "Many"] {
            assert!(!text.contains(rust), "{rust} in {text}");
        }
    }

    #[test]
    fn plain_words_hide_rust_types() {
        assert_eq!(
            plain_words("invalid type: string \"x\", expected u32"),
            "Expected a non-negative integer, received a string"
        );
        assert_eq!(
            plain_words("invalid value: integer `-1`, expected u32"),
            "Invalid value, expected a non-negative integer"
        );
        assert_eq!(
            plain_words("invalid type: sequence, expected struct CreateBody with 7 elements"),
            "Expected an object, received an array"
        );
        assert_eq!(
            plain_words("invalid type: map, expected a sequence"),
            "Expected an array, received an object"
        );
        assert_eq!(
            plain_words("invalid digit found in string"),
            "invalid digit found in string"
        );
        assert_eq!(
            plain_words("limit: invalid type: string, expected i64"),
            "limit: invalid type: string, expected an integer"
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
        // an empty value is absent
        let (mut parts, _) = axum::http::Request::builder()
            .uri("/x?limit=&other=1")
            .body(())
            .unwrap_or_default()
            .into_parts();
        let q = Query::<Q>::from_request_parts(&mut parts, &()).await;
        assert_eq!(q.ok().map(|q| q.0.limit), Some(None));
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
