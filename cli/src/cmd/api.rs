//! `openpartner api METHOD PATH`: the raw escape hatch, modelled on `gh api`.
//!
//! The request goes through the SDK's executor (`Client::raw`): same credentials, tenant
//! prefix, retries and `--verbose` logging as every other command.
//!
//! - `-f key=value` (string) and `-F key=json` (typed; text that is not JSON is sent as a
//!   string) build the JSON body, or the query string for GET/HEAD or when `--input` gives
//!   the body. `key[sub]=v` nests, `key[]=v` appends to an array (body only).
//! - `--input FILE|-` sends that file's JSON as the body.
//! - The response body is printed as pretty JSON (`-o ndjson`: compact); a non-JSON body is
//!   printed as is. A non-2xx status prints the body too, then ends with the exit code of
//!   that status (`openpartner help exit-codes`).
//! - `--paginate` (GET): follows `nextCursor` (cursor listings) or `limit`/`offset` (offset
//!   listings), detected by the SDK's `pagination::raw_page`, and emits the items of every
//!   page as one stream (`-o json` array by default, `ndjson`/`csv`/`table` on request).
//! - `-i`: status line and headers first (on stdout, like `gh api -i`); `Set-Cookie`
//!   values are masked by the SDK's `redact::mask_set_cookie` so a session token is not
//!   echoed.
//! - A non-2xx status ends with the SDK's own error (`RawResponse::error`).

use std::io::{Read, Write};

use anyhow::{Context, Result};
use http::Method;
use openpartner::PageToken;
use serde_json::{Map, Value};

use crate::cli::ApiArgs;
use crate::context::Ctx;
use crate::exit::{self, Code};
use crate::output::{self, Format, ListWriter};

/// One segment of a field key: `name`, `[sub]` or `[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyPart {
    Name(String),
    Append,
}

fn parse_key(key: &str) -> Result<Vec<KeyPart>> {
    let bad = || exit::usage(format!("invalid field key `{key}`"));
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return Err(bad());
    }
    let mut parts = vec![KeyPart::Name(head.to_string())];
    while !rest.is_empty() {
        let close = rest.find(']').ok_or_else(bad)?;
        if !rest.starts_with('[') {
            return Err(bad());
        }
        let inner = &rest[1..close];
        parts.push(if inner.is_empty() {
            KeyPart::Append
        } else {
            KeyPart::Name(inner.to_string())
        });
        rest = &rest[close + 1..];
    }
    Ok(parts)
}

fn insert(target: &mut Value, parts: &[KeyPart], value: Value, key: &str) -> Result<()> {
    let conflict = || exit::usage(format!("field `{key}` conflicts with another field"));
    let Some((first, rest)) = parts.split_first() else {
        *target = value;
        return Ok(());
    };
    match first {
        KeyPart::Name(name) => {
            if target.is_null() {
                *target = Value::Object(Map::new());
            }
            let obj = target.as_object_mut().ok_or_else(conflict)?;
            let slot = obj.entry(name.clone()).or_insert(Value::Null);
            if rest.is_empty() {
                if !slot.is_null() {
                    return Err(conflict());
                }
                *slot = value;
                Ok(())
            } else {
                insert(slot, rest, value, key)
            }
        }
        KeyPart::Append => {
            if target.is_null() {
                *target = Value::Array(Vec::new());
            }
            let arr = target.as_array_mut().ok_or_else(conflict)?;
            if rest.is_empty() {
                arr.push(value);
                Ok(())
            } else {
                let mut child = Value::Null;
                insert(&mut child, rest, value, key)?;
                arr.push(child);
                Ok(())
            }
        }
    }
}

/// Parsed `-f`/`-F` fields in command-line order: (key, value).
fn parse_fields(args: &ApiArgs) -> Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    // Keep the user's order across both flags is not recoverable from clap; raw first,
    // then typed, each in order (order only matters for repeated query keys).
    for f in &args.raw_fields {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| exit::usage(format!("field `{f}` must be KEY=VALUE")))?;
        out.push((k.to_string(), Value::String(v.to_string())));
    }
    for f in &args.fields {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| exit::usage(format!("field `{f}` must be KEY=JSON")))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        out.push((k.to_string(), value));
    }
    Ok(out)
}

fn query_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `path` with extra query pairs appended (existing pairs kept, except keys in `replace`).
fn with_query(path: &str, extra: &[(String, String)], replace: &[&str]) -> String {
    let (base, query) = match path.split_once('?') {
        Some((b, q)) => (b, q),
        None => (path, ""),
    };
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if !replace.contains(&k.as_ref()) {
            ser.append_pair(&k, &v);
        }
    }
    for (k, v) in extra {
        ser.append_pair(k, v);
    }
    let q = ser.finish();
    if q.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{q}")
    }
}

/// The error a non-2xx raw response ends with: the SDK's `Error::Api` (its one-line text,
/// and the exit code of the status through `exit.rs`).
fn status_error(resp: &openpartner::RawResponse) -> anyhow::Error {
    match resp.error() {
        Some(e) => anyhow::Error::new(e),
        None => exit::fail(Code::Error, "not an error response"),
    }
}

fn print_headers(out: &mut impl Write, resp: &openpartner::RawResponse) -> Result<()> {
    let reason = http::StatusCode::from_u16(resp.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    writeln!(out, "HTTP/1.1 {} {reason}", resp.status)?;
    for (name, value) in &resp.headers {
        let text = value.to_str().unwrap_or("<binary>");
        let text = if name == http::header::SET_COOKIE {
            openpartner::redact::mask_set_cookie(text)
        } else {
            text.to_string()
        };
        writeln!(out, "{name}: {text}")?;
    }
    writeln!(out)?;
    Ok(())
}

fn print_body(out: &mut impl Write, body: &Value, format: Option<Format>) -> Result<()> {
    match body {
        Value::Null => {}
        Value::String(s) => {
            out.write_all(s.as_bytes())?;
            if !s.ends_with('\n') {
                out.write_all(b"\n")?;
            }
        }
        v if format == Some(Format::Ndjson) => {
            serde_json::to_writer(&mut *out, v)?;
            out.write_all(b"\n")?;
        }
        v => {
            serde_json::to_writer_pretty(&mut *out, v)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// Runs `api`.
pub async fn run(ctx: &Ctx, args: ApiArgs) -> Result<()> {
    let method = Method::from_bytes(args.method.trim().to_ascii_uppercase().as_bytes())
        .map_err(|_| exit::usage(format!("invalid HTTP method `{}`", args.method)))?;
    let path = args.path.trim();
    if path.starts_with("http://") || path.starts_with("https://") {
        return Err(exit::usage(
            "PATH is a route such as /partners; the base URL comes from the profile or --base-url",
        ));
    }
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let fields = parse_fields(&args)?;
    let input_body: Option<Value> = match &args.input {
        Some(src) => {
            let mut text = String::new();
            if src == "-" {
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("reading the request body from stdin")?;
            } else {
                text = std::fs::read_to_string(src)
                    .map_err(|e| exit::usage(format!("cannot read {src}: {e}")))?;
            }
            Some(
                serde_json::from_str(&text)
                    .map_err(|e| exit::usage(format!("--input is not valid JSON: {e}")))?,
            )
        }
        None => None,
    };
    let fields_in_query = input_body.is_some() || method == Method::GET || method == Method::HEAD;
    let (path, body) = if fields_in_query {
        let mut pairs = Vec::new();
        for (k, v) in &fields {
            if k.contains('[') {
                return Err(exit::usage(format!(
                    "nested field `{k}` cannot go in a query string"
                )));
            }
            pairs.push((k.clone(), query_text(v)));
        }
        (with_query(&path, &pairs, &[]), input_body)
    } else if fields.is_empty() {
        (path, None)
    } else {
        let mut body = Value::Object(Map::new());
        for (k, v) in fields {
            let parts = parse_key(&k)?;
            insert(&mut body, &parts, v, &k)?;
        }
        (path, Some(body))
    };

    let (client, _) = ctx.client()?;
    if args.paginate {
        if method != Method::GET {
            return Err(exit::usage("--paginate works with GET only"));
        }
        let format = ctx.global.output.unwrap_or(Format::Json);
        let mut writer = ListWriter::new(format, Vec::new(), output::stdout());
        let mut next_path = Some(path.clone());
        let mut seen_cursors = std::collections::HashSet::new();
        // One request per page, until a page says it is the last (or is empty).
        while let Some(page_path) = next_path.take() {
            let resp = client.raw(Method::GET, &page_path, None).await?;
            if !resp.is_success() {
                writer.finish()?;
                let mut err_out = std::io::stderr().lock();
                print_body(&mut err_out, &resp.body, None)?;
                return Err(status_error(&resp));
            }
            let (items, next) = openpartner::pagination::raw_page(&resp.body);
            for item in &items {
                writer.write(item)?;
            }
            if items.is_empty() {
                break;
            }
            next_path = match next {
                Some(PageToken::Cursor(c)) => {
                    if !seen_cursors.insert(c.clone()) {
                        return Err(exit::fail(
                            Code::Error,
                            "the server returned the same cursor twice; stopping",
                        ));
                    }
                    Some(with_query(&path, &[("cursor".into(), c)], &["cursor"]))
                }
                Some(PageToken::Offset(o)) => Some(with_query(
                    &path,
                    &[("offset".into(), o.to_string())],
                    &["offset"],
                )),
                None => None,
            };
        }
        return writer.finish();
    }

    let resp = client.raw(method, &path, body).await?;
    let mut out = output::stdout();
    if args.include {
        print_headers(&mut out, &resp)?;
    }
    print_body(&mut out, &resp.body, ctx.global.output)?;
    out.flush()?;
    if resp.is_success() {
        Ok(())
    } else {
        Err(status_error(&resp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(fields: &[(&str, Value)]) -> Result<Value> {
        let mut body = Value::Object(Map::new());
        for (k, v) in fields {
            insert(&mut body, &parse_key(k)?, v.clone(), k)?;
        }
        Ok(body)
    }

    #[test]
    fn nested_fields() {
        let body = build(&[
            ("email", json!("a@b.co")),
            ("metadata[tier]", json!("gold")),
            ("metadata[level]", json!(3)),
            ("programIds[]", json!("p1")),
            ("programIds[]", json!("p2")),
            ("sendInvite", json!(false)),
        ])
        .expect("build");
        assert_eq!(
            body,
            json!({"email":"a@b.co","metadata":{"tier":"gold","level":3},"programIds":["p1","p2"],"sendInvite":false})
        );
        assert!(build(&[("a", json!(1)), ("a", json!(2))]).is_err());
        assert!(build(&[("a", json!(1)), ("a[b]", json!(2))]).is_err());
        assert!(parse_key("[x]").is_err());
        assert!(parse_key("a[b").is_err());
    }

    #[test]
    fn query_building() {
        assert_eq!(
            with_query(
                "/partners?limit=2",
                &[("email".into(), "a+b@x.io".into())],
                &[]
            ),
            "/partners?limit=2&email=a%2Bb%40x.io"
        );
        assert_eq!(
            with_query(
                "/partners?cursor=abc&limit=2",
                &[("cursor".into(), "def".into())],
                &["cursor"]
            ),
            "/partners?limit=2&cursor=def"
        );
        assert_eq!(with_query("/health", &[], &[]), "/health");
    }
}
