//! The SDK's single error type.

use std::time::Duration;

/// `Result<T, openpartner::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong calling the API. `Display` is one line and never contains a
/// secret (bodies are masked before they are stored in [`Error::Decode`]; [`Error::Api`]'s
/// `body` is the server's error body, which never carries secrets).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-2xx status and (usually) the API's error shape
    /// `{"error":"<code>","detail"?:…}`. `code` is `body.error`, or `http_<status>` when the
    /// body had none; `detail` is `body.detail`, or the whole body when it has no `detail`
    /// key (API.md §1); `retry_after` is the server's wait hint (`Retry-After`, rate-limit
    /// reset headers) when it sent one.
    #[error(
        "API error {status} {code}{}{}",
        fmt_detail(detail),
        fmt_rid(request_id)
    )]
    Api {
        /// HTTP status.
        status: u16,
        /// Stable snake_case error code.
        code: String,
        /// `detail` (text or object), or the whole body.
        detail: Option<serde_json::Value>,
        /// The whole error body (`Null` when empty, a JSON string when not JSON).
        body: serde_json::Value,
        /// The `X-Request-Id` of the request.
        request_id: Option<String>,
        /// How long the server asked us to wait.
        retry_after: Option<Duration>,
    },
    /// The request could not be completed at the transport level. `may_have_been_sent` is
    /// `false` only when the connection was never established.
    #[error("transport error: {message}{}", fmt_rid(request_id))]
    Transport {
        /// Description of the failure (no secrets).
        message: String,
        /// Whether the server may have received the request.
        may_have_been_sent: bool,
        /// The `X-Request-Id` the SDK sent.
        request_id: Option<String>,
    },
    /// The per-attempt timeout elapsed.
    #[error("request timed out{}", fmt_rid(request_id))]
    Timeout {
        /// Whether the server may have received the request.
        may_have_been_sent: bool,
        /// The `X-Request-Id` the SDK sent.
        request_id: Option<String>,
    },
    /// A 2xx body did not match the expected shape. `path` is the JSON path of the failing
    /// field (from `serde_path_to_error`), `body_snippet` a truncated, secret-masked excerpt.
    #[error(
        "could not decode response at `{path}`: {message}{}",
        fmt_rid(request_id)
    )]
    Decode {
        /// JSON path of the failing value, e.g. `partners[2].createdAt`.
        path: String,
        /// Truncated body with secret-looking values masked.
        body_snippet: String,
        /// The decoder's message.
        message: String,
        /// The response's `X-Request-Id`.
        request_id: Option<String>,
    },
    /// The server lacks an extension or route this call needs (detected before sending,
    /// from the `OpenPartner-Extensions` capability header; API.md §6).
    #[error("unsupported by this server: {feature}")]
    Unsupported {
        /// The missing extension or feature, e.g. `external-id`.
        feature: String,
    },
    /// Invalid client configuration (base URL, tenant slug, header values…).
    #[error("configuration error: {0}")]
    Config(String),
}

fn fmt_rid(rid: &Option<String>) -> String {
    match rid {
        Some(r) => format!(" (request id {r})"),
        None => String::new(),
    }
}

fn fmt_detail(detail: &Option<serde_json::Value>) -> String {
    match detail {
        Some(serde_json::Value::String(s)) => format!(": {}", one_line(s, 300)),
        Some(serde_json::Value::Null) | None => String::new(),
        // `detail` is the whole body when the server sent no `detail` key: the code is
        // already printed, so show only the other fields (e.g. `required`, `missing`).
        Some(serde_json::Value::Object(map)) => {
            let rest: serde_json::Map<_, _> = map
                .iter()
                .filter(|(k, _)| k.as_str() != "error")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if rest.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}",
                    one_line(&serde_json::Value::Object(rest).to_string(), 300)
                )
            }
        }
        Some(v) => format!(": {}", one_line(&v.to_string(), 300)),
    }
}

fn one_line(s: &str, max: usize) -> String {
    let s: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    crate::redact::truncate(&crate::redact::mask_text(&s), max)
}

impl Error {
    /// The HTTP status of an [`Error::Api`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API error code (`body.error`) of an [`Error::Api`].
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The request id (sent or echoed), when known.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. }
            | Error::Transport { request_id, .. }
            | Error::Timeout { request_id, .. }
            | Error::Decode { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// `true` for HTTP 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// `true` for HTTP 429.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// `true` for HTTP 401 or 403.
    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401) | Some(403))
    }

    /// `true` for HTTP 409.
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// `true` when the server does not support what was asked: [`Error::Unsupported`], or a
    /// 404 `route_not_found` / non-JSON 404 (API.md §6).
    pub fn is_unsupported(&self) -> bool {
        match self {
            Error::Unsupported { .. } => true,
            Error::Api {
                status: 404,
                code,
                body,
                ..
            } => code == "route_not_found" || !body.is_object(),
            _ => false,
        }
    }

    /// The server's wait hint of an [`Error::Api`] (usually a 429).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
