//! The SSRF-guarded outbound sender (`openpartner_mock::outbound`) against a real
//! receiver on loopback: what is sent, what is refused, and what comes back.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use openpartner_mock::outbound::{Outbound, OutboundRequest, StaticResolver};
use openpartner_mock::Config;

type Seen = Arc<Mutex<Vec<(String, Option<String>, String)>>>;

/// A receiver on 127.0.0.1:0 that records (path, x-test header, body) and answers by path.
async fn receiver() -> (SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let s1 = seen.clone();
    let app = axum::Router::new()
        .route(
            "/ok",
            post(move |headers: HeaderMap, body: String| {
                let seen = s1.clone();
                async move {
                    let h = headers
                        .get("x-test")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    seen.lock().unwrap().push(("/ok".into(), h, body));
                    (StatusCode::OK, "thanks")
                }
            }),
        )
        .route("/big", get(|| async { "x".repeat(10_000) }))
        .route(
            "/redirect",
            get(|| async {
                (StatusCode::FOUND, [("location", "http://127.0.0.1:1/ok")]).into_response()
            }),
        )
        .route(
            "/busy",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "42")],
                    "slow down",
                )
            }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

fn config(allow_loopback: bool) -> Config {
    let mut c = Config::for_tests("op_admin");
    if !allow_loopback {
        c.outbound_allow_private_cidrs = Vec::new();
    }
    c
}

fn get_req(url: String) -> OutboundRequest {
    OutboundRequest {
        method: http::Method::GET,
        url,
        headers: Vec::new(),
        body: None,
    }
}

#[tokio::test]
async fn delivers_to_an_allowed_loopback_receiver_with_headers_and_body() {
    let (addr, seen) = receiver().await;
    let out = Outbound::from_config(&config(true));
    let r = out
        .send(OutboundRequest {
            method: http::Method::POST,
            url: format!("http://{addr}/ok"),
            headers: vec![("x-test".into(), "yes".into())],
            body: Some(bytes::Bytes::from_static(b"{\"a\":1}")),
        })
        .await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(r.http_status, Some(200));
    assert_eq!(r.error, None);
    assert_eq!(r.response_snippet.as_deref(), Some("thanks"));
    assert_eq!(
        seen.lock().unwrap().clone(),
        vec![(
            "/ok".to_string(),
            Some("yes".to_string()),
            "{\"a\":1}".to_string()
        )]
    );
}

#[tokio::test]
async fn refuses_loopback_literal_and_localhost_unless_allowed() {
    let (addr, seen) = receiver().await;
    let out = Outbound::from_config(&config(false));
    for url in [
        format!("http://{addr}/ok"),
        format!("http://localhost:{}/ok", addr.port()),
        format!("http://[::ffff:127.0.0.1]:{}/ok", addr.port()),
    ] {
        let r = out
            .send(OutboundRequest {
                method: http::Method::POST,
                url: url.clone(),
                headers: Vec::new(),
                body: None,
            })
            .await;
        assert!(r.blocked(), "{url}: {r:?}");
        assert_eq!(r.http_status, None, "{url}");
        let e = r.error.unwrap();
        assert!(
            e.starts_with("blocked: 127.0.0.1 is a loopback address"),
            "{url}: {e}"
        );
    }
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing may reach the receiver"
    );
}

#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_refused_at_connect_time() {
    // DNS rebinding: the name is public-looking, its answer is private. Even with loopback
    // allowed, 10.0.0.1 stays forbidden.
    let mut c = config(true);
    c.outbound_resolver = Some(Arc::new(StaticResolver::new([(
        "rebind.test",
        "10.0.0.1".parse::<IpAddr>().unwrap(),
    )])));
    let out = Outbound::from_config(&c);
    let r = out.send(get_req("http://rebind.test/x".into())).await;
    assert!(r.blocked(), "{r:?}");
    let e = r.error.unwrap();
    assert!(e.contains("10.0.0.1 is a private address"), "{e}");
    assert!(e.contains("rebind.test"), "{e}");
    assert!(e.contains("--outbound-allow-private-cidrs"), "{e}");
}

#[tokio::test]
async fn a_name_resolving_to_an_allowed_address_is_contacted_at_that_address() {
    let (addr, seen) = receiver().await;
    let mut c = config(true);
    c.outbound_resolver = Some(Arc::new(StaticResolver::new([(
        "receiver.test",
        "127.0.0.1".parse::<IpAddr>().unwrap(),
    )])));
    let out = Outbound::from_config(&c);
    let r = out
        .send(OutboundRequest {
            method: http::Method::POST,
            url: format!("http://receiver.test:{}/ok", addr.port()),
            headers: Vec::new(),
            body: Some(bytes::Bytes::from_static(b"hi")),
        })
        .await;
    assert_eq!(r.http_status, Some(200), "{r:?}");
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn never_follows_redirects_keeps_4_kib_and_reads_retry_after() {
    let (addr, _) = receiver().await;
    let out = Outbound::from_config(&config(true));
    let r = out.send(get_req(format!("http://{addr}/redirect"))).await;
    assert_eq!(r.http_status, Some(302));
    assert_eq!(r.error.as_deref(), Some("HTTP 302"));
    assert!(!r.is_success());

    let r = out.send(get_req(format!("http://{addr}/big"))).await;
    assert_eq!(r.response_snippet.as_ref().map(String::len), Some(4096));

    let r = out.send(get_req(format!("http://{addr}/busy"))).await;
    assert_eq!(r.http_status, Some(429));
    assert_eq!(r.retry_after, Some(Duration::from_secs(42)));
    assert_eq!(r.response_snippet.as_deref(), Some("slow down"));
}

#[tokio::test]
async fn times_out_and_reports_transport_errors() {
    let (addr, _) = receiver().await;
    let mut c = config(true);
    c.outbound_timeout = Duration::from_millis(300);
    let out = Outbound::from_config(&c);
    let r = out.send(get_req(format!("http://{addr}/hang"))).await;
    assert_eq!(r.http_status, None);
    assert!(
        r.error.as_deref().unwrap().starts_with("timed out"),
        "{r:?}"
    );
    assert!(r.duration_ms < 5_000, "{r:?}");

    // Nothing listens on port 1.
    let r = out.send(get_req("http://127.0.0.1:1/".into())).await;
    assert_eq!(r.http_status, None);
    assert!(!r.blocked());
    assert!(r.error.is_some());

    let r = out.send(get_req("ftp://example.com/".into())).await;
    assert_eq!(r.error.as_deref(), Some("unsupported URL scheme 'ftp'"));
}
