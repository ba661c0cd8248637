//! The executor's tracing output: every attempt at DEBUG on `openpartner::http`, bodies at
//! TRACE, credentials and secret values masked.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use openpartner::Credentials;
use serde_json::json;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

#[tokio::test]
async fn logs_attempts_with_secrets_masked() {
    let buf = Buf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("openpartner=trace")
        .with_writer(buf.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = common::server().await;
    let plaintext = "op_9999888877776666555544443333222211110000aaaabbbb";
    mount(
        &server,
        "POST",
        "/api-keys",
        echo(201, json!({"id":"k1","plaintext":plaintext})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/auth/magic/verify",
        echo(400, json!({"error":"invalid_or_expired_token"})),
    )
    .await;
    mount(
        &server,
        "GET",
        "/auth/whoami",
        echo(401, json!({"error":"unauthorized"})),
    )
    .await;
    let c = client(&server);
    let key = c.api_keys().create().label("ci").send().await.unwrap();
    assert_eq!(key.plaintext.expose(), plaintext);
    let session = c.with_credentials(Credentials::session(
        "ops_5555444433332222111100009999888877776666",
    ));
    let token = "opml_abcdefabcdefabcdefabcdefabcdefabcdefabcdef0000";
    let err = session.auth().verify_magic_link(token).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_or_expired_token"));
    assert!(!err.to_string().contains("abcdefabcdef"));
    assert!(session.auth().whoami().await.unwrap_err().is_auth());

    let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(out.contains("openpartner::http"), "{out}");
    assert!(out.contains("http attempt"), "{out}");
    assert!(out.contains("attempt=1"), "{out}");
    assert!(out.contains("status=201"), "{out}");
    assert!(out.contains("authorization: ***"), "{out}");
    assert!(out.contains("cookie: ***"), "{out}");
    assert!(out.contains("x-request-id"), "{out}");
    assert!(out.contains("request body"), "bodies at TRACE: {out}");
    assert!(
        out.contains("\\\"label\\\":\\\"ci\\\"") || out.contains("\"label\":\"ci\""),
        "{out}"
    );
    for secret in [
        &ADMIN_KEY[6..],
        &plaintext[6..],
        "5555444433332222111100009999",
        "abcdefabcdefabcdef",
    ] {
        assert!(
            !out.contains(secret),
            "secret {secret} leaked in logs:\n{out}"
        );
    }
}
