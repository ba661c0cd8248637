//! A real webhook receiver for the webhook tests: an axum server on `127.0.0.1:0` that
//! records every request (path, headers, raw body) and answers from a plan of statuses
//! (200 once the plan is used up), optionally per `x-openpartner-delivery` id.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Got {
    /// Request path.
    pub path: String,
    /// Headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: String,
    /// The status it was answered with.
    pub answered: u16,
}

impl Got {
    /// A header as text ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("the body is JSON")
    }
}

#[derive(Default)]
struct Inner {
    got: Vec<Got>,
    /// Answers for the next requests: (status, Retry-After seconds).
    plan: VecDeque<(u16, Option<u64>)>,
    /// Per delivery id: how many first requests of that id fail with 500.
    fail_first_per_id: usize,
    hits_per_id: HashMap<String, usize>,
    /// Each answer waits this long.
    delay: Duration,
    /// Requests being answered now, and the most at once.
    in_flight: usize,
    max_in_flight: usize,
}

/// The receiver; clones share state.
#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    /// Starts a receiver answering 200.
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let r = Receiver {
            base,
            inner: Arc::default(),
        };
        let st = r.clone();
        let app =
            axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: String| {
                let st = st.clone();
                async move {
                    let delay = {
                        let mut g = st.inner.lock().unwrap();
                        g.in_flight += 1;
                        g.max_in_flight = g.max_in_flight.max(g.in_flight);
                        g.delay
                    };
                    tokio::time::sleep(delay).await;
                    st.inner.lock().unwrap().in_flight -= 1;
                    st.handle(uri, headers, body)
                }
            });
        tokio::spawn(async move { axum::serve(listener, app).await });
        r
    }

    fn handle(&self, uri: Uri, headers: HeaderMap, body: String) -> axum::response::Response {
        let mut g = self.inner.lock().unwrap();
        let id = headers
            .get("x-openpartner-delivery")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let hits = {
            let h = g.hits_per_id.entry(id).or_default();
            *h += 1;
            *h
        };
        let (status, retry_after) = if hits <= g.fail_first_per_id {
            (500, None)
        } else {
            g.plan.pop_front().unwrap_or((200, None))
        };
        g.got.push(Got {
            path: uri.path().to_owned(),
            headers,
            body,
            answered: status,
        });
        let mut resp = (
            StatusCode::from_u16(status).unwrap(),
            format!("receiver says {status}"),
        )
            .into_response();
        if let Some(s) = retry_after {
            resp.headers_mut()
                .insert("retry-after", s.to_string().parse().unwrap());
        }
        resp
    }

    /// A URL on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The next requests are answered with these statuses (then 200 again).
    pub fn answer_next(&self, statuses: &[u16]) {
        let mut g = self.inner.lock().unwrap();
        g.plan.extend(statuses.iter().map(|s| (*s, None)));
    }

    /// The next request is answered `status` with `Retry-After: secs`.
    pub fn answer_next_retry_after(&self, status: u16, secs: u64) {
        self.inner
            .lock()
            .unwrap()
            .plan
            .push_back((status, Some(secs)));
    }

    /// The first `n` requests of every delivery id are answered 500.
    pub fn fail_first_per_id(&self, n: usize) {
        self.inner.lock().unwrap().fail_first_per_id = n;
    }

    /// Every answer waits `delay` (a slow receiver).
    pub fn delay(&self, delay: Duration) {
        self.inner.lock().unwrap().delay = delay;
    }

    /// The most requests that were being answered at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.inner.lock().unwrap().max_in_flight
    }

    /// Everything received so far.
    pub fn got(&self) -> Vec<Got> {
        self.inner.lock().unwrap().got.clone()
    }

    /// Waits (up to 15 s) until at least `n` requests arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Got> {
        for _ in 0..750 {
            let got = self.got();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "the receiver got {} requests, expected {n}",
            self.got().len()
        );
    }

    /// Waits `ms` and asserts that exactly `n` requests arrived in total.
    pub async fn assert_total_after(&self, ms: u64, n: usize) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        let got = self.got();
        assert_eq!(
            got.len(),
            n,
            "requests: {:?}",
            got.iter()
                .map(|g| g.header("x-openpartner-event").to_owned())
                .collect::<Vec<_>>()
        );
    }
}

/// Lowercase hex HMAC-SHA256(key = secret, "<ts>.<body>"), computed independently of the
/// server's code.
pub fn expected_signature(secret: &str, ts: &str, body: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
