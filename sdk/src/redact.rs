//! Masking of secret-looking values for logs, error snippets and `Debug` output.
//!
//! Public so that tools printing raw responses (the CLI's `openpartner api -i`) mask exactly
//! as the SDK does: [`mask_text`], [`mask_json`], [`mask_set_cookie`].

use serde_json::Value;

use crate::credentials::mask;

/// JSON keys whose string values are always masked (API key plaintext, tokens, webhook
/// secrets, magic-link URLs which embed a token, passwords).
const SECRET_KEYS: &[&str] = &[
    "plaintext",
    "token",
    "secret",
    "url",
    "password",
    "apikey",
    "api_key",
    "authorization",
    "cookie",
    "session",
];

/// Token prefixes recognised in free text, with the minimum body length after the prefix.
const PREFIXES: &[&str] = &["opml_", "ops_", "whsec_", "op_"];

fn is_secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| *s == k)
}

/// Returns a copy of `v` where the values of secret-looking keys (`plaintext`, `token`,
/// `secret`, `url`, `password`, `apiKey`, `authorization`, `cookie`, `session`) are masked,
/// and secret-looking tokens in every other string too, recursively.
pub fn mask_json(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, val) in map {
                let masked = if is_secret_key(k) {
                    match val {
                        Value::String(s) => Value::String(mask(s)),
                        Value::Null => Value::Null,
                        other => mask_json(other),
                    }
                } else {
                    mask_json(val)
                };
                out.insert(k.clone(), masked);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(mask_json).collect()),
        Value::String(s) => Value::String(mask_text(s)),
        other => other.clone(),
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Masks `op_…`, `ops_…`, `opml_…` and `whsec_…` tokens (prefix followed by at least 8 token
/// characters) anywhere in free text.
pub fn mask_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    'outer: while !rest.is_empty() {
        // Only consider a prefix at a word boundary.
        let at_boundary = out.chars().last().is_none_or(|c| !is_token_char(c));
        if at_boundary {
            for p in PREFIXES {
                if let Some(after) = rest.strip_prefix(p) {
                    let body_len: usize = after
                        .char_indices()
                        .find(|(_, c)| !is_token_char(*c))
                        .map(|(i, _)| i)
                        .unwrap_or(after.len());
                    if body_len >= 8 {
                        let token = &rest[..p.len() + body_len];
                        out.push_str(&mask(token));
                        rest = &rest[p.len() + body_len..];
                        continue 'outer;
                    }
                }
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// Masks the value of the `name=value` pair of a `Set-Cookie` header (a session token),
/// keeping the cookie name, a short prefix of a long value and the attributes:
/// `op_session=ops_0123…; HttpOnly` → `op_session=ops_01…; HttpOnly`. A header without
/// `=` becomes `***`.
pub fn mask_set_cookie(header: &str) -> String {
    match header.split_once('=') {
        Some((name, rest)) => {
            let (value, attrs) = match rest.split_once(';') {
                Some((v, a)) => (v, format!(";{a}")),
                None => (rest, String::new()),
            };
            let masked = if value.chars().count() > 12 {
                format!("{}…", value.chars().take(6).collect::<String>())
            } else if value.is_empty() {
                String::new()
            } else {
                "***".into()
            };
            format!("{name}={masked}{attrs}")
        }
        None => "***".into(),
    }
}

/// Truncates to at most `max` characters, appending `…` when cut.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// A masked, truncated excerpt of a response body for error messages and logs.
pub(crate) fn body_snippet(body: &[u8], max: usize) -> String {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => truncate(&mask_json(&v).to_string(), max),
        Err(_) => truncate(&mask_text(&String::from_utf8_lossy(body)), max),
    }
}

/// Masks the value of a header when it carries credentials.
pub(crate) fn header_value_for_log(name: &http::HeaderName, value: &http::HeaderValue) -> String {
    let n = name.as_str();
    if n == "authorization" || n == "cookie" || n == "set-cookie" || n == "proxy-authorization" {
        "***".to_string()
    } else {
        mask_text(&String::from_utf8_lossy(value.as_bytes()))
    }
}

/// All headers formatted for a log line, credentials masked.
pub(crate) fn headers_for_log(h: &http::HeaderMap) -> String {
    let mut parts = Vec::with_capacity(h.len());
    for (k, v) in h {
        parts.push(format!("{}: {}", k, header_value_for_log(k, v)));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_keys_and_prefixes() {
        let v = json!({"id":"k1","plaintext":"op_0123456789abcdef0123456789abcdef0123456789abcdef",
            "nested":[{"token":"opml_aaaaaaaaaaaaaaaaaaaa"}],
            "note":"key op_0123456789abcdef leaked", "url":"http://x/auth/magic?token=opml_abcdefabcdef"});
        let m = mask_json(&v).to_string();
        assert!(!m.contains("0123456789abcdef0123"), "{m}");
        assert!(!m.contains("opml_aaaaaaaa"), "{m}");
        assert!(!m.contains("opml_abcdefabcdef"), "{m}");
        assert!(m.contains("\"id\":\"k1\""));
        assert!(m.contains("key op_012… leaked"), "{m}");
    }

    #[test]
    fn text_masking_respects_boundaries() {
        assert_eq!(
            mask_text("op_session=ops_0123456789abcdef"),
            "op_session=ops_01…"
        );
        assert_eq!(mask_text("stop_123456789"), "stop_123456789");
        assert_eq!(mask_text("whsec_ABCDEFGHIJKLMNOP"), "whsec_…");
        assert_eq!(mask_text("plain text é"), "plain text é");
    }

    #[test]
    fn set_cookie_masking() {
        assert_eq!(
            mask_set_cookie("op_session=ops_0123456789abcdef0123; HttpOnly; Path=/"),
            "op_session=ops_01…; HttpOnly; Path=/"
        );
        assert_eq!(
            mask_set_cookie("op_session=; Max-Age=0"),
            "op_session=; Max-Age=0"
        );
        assert_eq!(mask_set_cookie("short=abc"), "short=***");
        assert_eq!(mask_set_cookie("garbage"), "***");
    }

    #[test]
    fn header_masking() {
        let mut h = http::HeaderMap::new();
        h.insert(
            "authorization",
            http::HeaderValue::from_static("Bearer op_secret"),
        );
        h.insert("x-request-id", http::HeaderValue::from_static("01ABC"));
        let s = headers_for_log(&h);
        assert!(s.contains("authorization: ***"));
        assert!(s.contains("x-request-id: 01ABC"));
    }
}
