//! The client half of webhooks (API.md §3.6) against the REAL in-process server: the SDK's
//! `client.webhooks()` routes and `openpartner::webhooks::verify` on deliveries the server
//! signed, the CLI's `webhooks …` commands, and `webhooks listen --forward-to` as a child
//! process (one forward at a time in arrival order, the target's status recorded by the
//! server, automatic retries after a 500, the temporary endpoint hard-deleted on SIGINT /
//! SIGTERM, a forged delivery refused loudly).
//!
//! Every receiver here is an axum server on 127.0.0.1:0 in the test (`Target`): it records
//! each request (path, headers, raw body, when it entered and left) and answers the status
//! its plan gives for the n-th request of a delivery id. `Config::for_tests` lets the
//! server's SSRF guard reach loopback.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use hmac::{Hmac, Mac};
use openpartner::types::{
    AttemptTrigger, DeliveryStatus, RecordClick, RuleType, SubRule, TrackEvent, WebhookDelivery,
};
use openpartner::webhooks::{self, Event, VerifyError};
use openpartner::{Client, Error};
use openpartner_e2e::{requires_extensions, Env};
use rust_decimal::Decimal;
use serde_json::Value;
use sha2::Sha256;

// ---------------------------------------------------------------------------------------
// The recording receiver
// ---------------------------------------------------------------------------------------

/// One request the target received.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    headers: HeaderMap,
    body: Bytes,
    entered: Instant,
    left: Instant,
    status: u16,
}

impl Hit {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("header {name} missing: {:?}", self.headers))
    }

    fn delivery(&self) -> &str {
        self.header(webhooks::DELIVERY_HEADER)
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// Status for the `n`-th (from 0) request carrying delivery id `id`.
type Plan = Box<dyn Fn(&str, usize) -> u16 + Send + Sync>;

struct TargetState {
    hits: Mutex<Vec<Hit>>,
    plan: Plan,
    delay: Duration,
    busy: AtomicUsize,
    overlaps: AtomicUsize,
}

/// An axum receiver on 127.0.0.1:0 running on the test server's runtime.
struct Target {
    base: String,
    state: Arc<TargetState>,
}

impl Target {
    /// Starts a receiver that holds each request `delay` and answers `plan(id, n)`.
    fn start(
        env: &Env,
        delay: Duration,
        plan: impl Fn(&str, usize) -> u16 + Send + Sync + 'static,
    ) -> Target {
        let state = Arc::new(TargetState {
            hits: Mutex::new(Vec::new()),
            plan: Box::new(plan),
            delay,
            busy: AtomicUsize::new(0),
            overlaps: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .fallback(record)
            .with_state(state.clone());
        let base = env.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind the target");
            let addr = listener.local_addr().expect("addr");
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            format!("http://{addr}")
        });
        Target { base, state }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    /// Waits (up to 30 s) until at least `n` requests were answered.
    fn wait_for(&self, n: usize) -> Vec<Hit> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            assert!(
                Instant::now() < deadline,
                "the target got {} of {n} requests: {:?}",
                hits.len(),
                hits.iter().map(|h| h.path.clone()).collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many requests were handled while another one was still in progress.
    fn overlaps(&self) -> usize {
        self.state.overlaps.load(Ordering::SeqCst)
    }
}

async fn record(
    State(s): State<Arc<TargetState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if s.busy.fetch_add(1, Ordering::SeqCst) > 0 {
        s.overlaps.fetch_add(1, Ordering::SeqCst);
    }
    let entered = Instant::now();
    tokio::time::sleep(s.delay).await;
    let id = headers
        .get(webhooks::DELIVERY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let seen = s
        .hits
        .lock()
        .unwrap()
        .iter()
        .filter(|h| {
            h.headers
                .get(webhooks::DELIVERY_HEADER)
                .and_then(|v| v.to_str().ok())
                == Some(id.as_str())
        })
        .count();
    let status = (s.plan)(&id, seen);
    let left = Instant::now();
    s.hits.lock().unwrap().push(Hit {
        path: uri.path().to_owned(),
        headers,
        body,
        entered,
        left,
        status,
    });
    s.busy.fetch_sub(1, Ordering::SeqCst);
    StatusCode::from_u16(status).expect("status")
}

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

/// lowercase hex HMAC-SHA256(key = the whole secret, "<ts>.<raw body>"), computed here
/// with hmac + sha2, independently of the SDK.
fn reference_signature(secret: &str, ts: &str, body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(ts.as_bytes());
    m.update(b".");
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

/// `whsec_` + 32 base64url characters.
fn assert_secret_shape(secret: &str) {
    let rest = secret
        .strip_prefix("whsec_")
        .unwrap_or_else(|| panic!("secret without whsec_: {} chars", secret.len()));
    assert_eq!(rest.len(), 32, "32 characters after whsec_");
    assert!(
        rest.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "base64url alphabet only"
    );
}

/// Polls the deliveries of `endpoint` (up to 30 s) until `ok` accepts them.
fn wait_deliveries(
    env: &Env,
    endpoint: &str,
    ok: impl Fn(&[WebhookDelivery]) -> bool,
) -> Vec<WebhookDelivery> {
    let client = env.client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let d = env
            .block_on(client.webhooks().deliveries(endpoint))
            .expect("deliveries");
        if ok(&d) {
            return d;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries never matched: {d:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn all_delivered(n: usize) -> impl Fn(&[WebhookDelivery]) -> bool {
    move |d| d.len() >= n && d.iter().all(|d| d.status == DeliveryStatus::Delivered)
}

/// What the commission chain created.
struct Chain {
    program: String,
    partner: String,
    email: String,
    click: String,
    event: String,
    attribution: String,
    commission: String,
    payout: String,
}

/// Program (20 %, no holdback), partner, link, click, identify, a 100.10 USD sale, approve
/// and `payouts/run`: fires partner.created, attribution.created, commission.accrued,
/// commission.approved, payout.created and commission.paid.
fn commission_chain(env: &Env) -> Chain {
    let client = env.client();
    env.block_on(async move {
        let program = client
            .programs()
            .create(
                "Webhooks",
                vec![SubRule::every(RuleType::Percent, Decimal::from(20))],
                "https://shop.example.com/",
            )
            .holdback_days(Some(0))
            .send()
            .await
            .expect("program");
        let email = "hooks@example.com".to_owned();
        let partner = client
            .partners()
            .create(&email, "Hook Partner")
            .send_invite(false)
            .send()
            .await
            .expect("partner")
            .data
            .partner;
        client
            .links()
            .create(&partner.id, "hook-link", &program.id)
            .send()
            .await
            .expect("link");
        let click_ts = chrono::Utc::now() - chrono::Duration::hours(1);
        let click: RecordClick = serde_json::from_value(serde_json::json!({
            "id": "clk_webhooks_e2e_00000001",
            "linkKey": "hook-link",
            "landingUrl": "https://shop.example.com/",
            "ts": click_ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }))
        .expect("click");
        client.clicks().record(&click).send().await.expect("click");
        client
            .identify(&click.id, "u-hook")
            .await
            .expect("identify");
        let tracked = client
            .events()
            .track(
                TrackEvent::new("u-hook", "sale")
                    .value(dec("100.10"))
                    .currency("USD"),
            )
            .send()
            .await
            .expect("track")
            .data;
        let touch = tracked
            .attribution
            .touches
            .first()
            .expect("one touch")
            .clone();
        let commission = touch.commission_id.clone().expect("a commission");
        client
            .commissions()
            .approve(&commission)
            .await
            .expect("approve");
        let run = client.payouts().run().await.expect("payouts run");
        assert_eq!(run.payouts.len(), 1, "one payout");
        Chain {
            program: program.id,
            partner: partner.id,
            email,
            click: click.id,
            event: tracked.event_id,
            attribution: touch.attribution_id,
            commission,
            payout: run.payouts[0].payout_id.clone(),
        }
    })
}

fn api_code(e: &Error) -> (Option<u16>, Option<&str>) {
    (e.status(), e.code())
}

// ---------------------------------------------------------------------------------------
// 1. SDK
// ---------------------------------------------------------------------------------------

#[test]
fn sdk_endpoint_routes_against_the_server() {
    let env = Env::start();
    let target = Target::start(&env, Duration::ZERO, |_, _| 200);
    let client = env.client();
    let hooks = client.webhooks();

    let created = env
        .block_on(
            hooks
                .create(target.url("/b"), vec!["partner.activated".into()])
                .label("crm")
                .send(),
        )
        .expect("create");
    let secret = created.secret.expose().to_owned();
    assert_secret_shape(&secret);
    assert!(
        !format!("{created:?}").contains(&secret),
        "Debug never shows the secret"
    );
    let ep = created.endpoint;
    let prefix = ep.secret_prefix.clone().expect("secretPrefix");
    assert!(secret.starts_with(&prefix) && prefix.len() >= 6, "{prefix}");
    assert_eq!(ep.url, target.url("/b"));
    assert_eq!(ep.events, ["partner.activated"]);
    assert_eq!(ep.label.as_deref(), Some("crm"));
    assert!(ep.active);
    assert_eq!(ep.last_used_at, None);

    let list = env.block_on(hooks.list()).expect("list");
    assert_eq!(list, vec![ep.clone()], "the one endpoint, without a secret");
    assert_eq!(env.block_on(hooks.get(&ep.id)).expect("get"), ep);

    let patched = env
        .block_on(
            hooks
                .update(&ep.id)
                .url(target.url("/b2"))
                .events(vec!["commission.paid".into(), "commission.approved".into()])
                .label("renamed")
                .active(false)
                .send(),
        )
        .expect("patch");
    assert_eq!(patched.id, ep.id);
    assert_eq!(patched.url, target.url("/b2"));
    assert_eq!(patched.events, ["commission.paid", "commission.approved"]);
    assert_eq!(patched.label.as_deref(), Some("renamed"));
    assert!(!patched.active);
    assert_eq!(env.block_on(hooks.get(&ep.id)).expect("get"), patched);

    // A test ping on an inactive endpoint is refused before anything is sent.
    let e = env
        .block_on(hooks.test(&ep.id, None))
        .expect_err("inactive");
    assert_eq!(api_code(&e), (Some(400), Some("endpoint_inactive")), "{e}");
    assert!(target.hits().is_empty());

    // Reactivated, the ping arrives signed, as a typed webhook.test.
    let active = env
        .block_on(hooks.update(&ep.id).active(true).clear_label().send())
        .expect("reactivate");
    assert!(active.active);
    assert_eq!(active.label, None, "label: null clears it");
    assert_eq!(active.url, target.url("/b2"), "fields not sent stay");
    let ping = env.block_on(hooks.test(&ep.id, None)).expect("test ping");
    assert_eq!(ping.delivery.event_type, "webhook.test");
    assert_eq!(ping.event["data"]["_synthetic"], true);
    let hit = &target.wait_for(1)[0];
    assert_eq!(hit.path, "/b2");
    match webhooks::verify(
        &secret,
        &hit.headers,
        &hit.body,
        webhooks::DEFAULT_TOLERANCE,
    )
    .expect("genuine ping")
    {
        Event::WebhookTest { meta, event, data } => {
            assert_eq!(event, "webhook.test");
            assert!(data.synthetic);
            assert_eq!(Some(meta.id.as_str()), meta.delivery_id.as_deref());
            assert_eq!(meta.id, ping.delivery.event_id);
        }
        other => panic!("not a webhook.test: {other:?}"),
    }
    // ?event= names the type of the synthetic event.
    let typed = env
        .block_on(hooks.test(&ep.id, Some("commission.paid")))
        .expect("typed ping");
    assert_eq!(typed.delivery.event_type, "commission.paid");
    assert_eq!(typed.event["event"], "commission.paid");
    // It verifies as a synthetic event, not as a commission.paid missing its fields.
    let hit = &target.wait_for(2)[1];
    match webhooks::verify(
        &secret,
        &hit.headers,
        &hit.body,
        webhooks::DEFAULT_TOLERANCE,
    )
    .expect("a genuine typed ping verifies")
    {
        Event::WebhookTest { event, data, meta } => {
            assert_eq!(event, "commission.paid");
            assert!(data.synthetic);
            assert_eq!(meta.id, typed.delivery.event_id);
        }
        other => panic!("not a test ping: {other:?}"),
    }

    // Soft delete keeps the endpoint, inactive; hard delete removes it.
    env.block_on(hooks.delete(&ep.id, false))
        .expect("soft delete");
    let soft = env.block_on(hooks.get(&ep.id)).expect("still there");
    assert!(!soft.active);
    env.block_on(hooks.delete(&ep.id, true))
        .expect("hard delete");
    let e = env.block_on(hooks.get(&ep.id)).expect_err("gone");
    assert_eq!(e.status(), Some(404), "{e}");
    assert!(env.block_on(hooks.list()).expect("list").is_empty());
    let e = env.block_on(hooks.delete(&ep.id, true)).expect_err("gone");
    assert_eq!(e.status(), Some(404), "{e}");

    // Validation errors come back as Error::Api 400 invalid_body.
    let e = env
        .block_on(
            hooks
                .create("ftp://x.example.com", vec!["nope".into()])
                .send(),
        )
        .expect_err("invalid");
    assert_eq!(api_code(&e), (Some(400), Some("invalid_body")), "{e}");
}

#[test]
fn sdk_receives_the_commission_chain_signed_and_typed() {
    if requires_extensions(
        "webhook-retries",
        "the test reads the [EXT] attempt log of each delivery",
    ) {
        return;
    }
    let env = Env::start();
    let target = Target::start(&env, Duration::ZERO, |_, _| 200);
    let client = env.client();
    let hooks = client.webhooks();
    let created = env
        .block_on(hooks.create(target.url("/hook"), vec!["*".into()]).send())
        .expect("create");
    let secret = created.secret.expose().to_owned();
    let ep = created.endpoint.id.clone();
    // Another endpoint, for the endpoint_mismatch check (it gets the events too).
    let other = env
        .block_on(
            hooks
                .create(target.url("/other"), vec!["partner.activated".into()])
                .send(),
        )
        .expect("create other")
        .endpoint
        .id;

    let chain = commission_chain(&env);
    let deliveries = wait_deliveries(&env, &ep, all_delivered(6));
    assert_eq!(deliveries.len(), 6, "{deliveries:#?}");
    let hits: Vec<Hit> = target
        .wait_for(6)
        .into_iter()
        .filter(|h| h.path == "/hook")
        .collect();
    assert_eq!(hits.len(), 6);

    let mut seen = Vec::new();
    for hit in &hits {
        // The four x-openpartner-* headers, content type and user agent.
        assert_eq!(hit.header("content-type"), "application/json");
        assert_eq!(hit.header("user-agent"), webhooks::USER_AGENT);
        let ts = hit.header(webhooks::TIMESTAMP_HEADER);
        let ts_n: i64 = ts.parse().expect("unix seconds");
        assert!((chrono::Utc::now().timestamp() - ts_n).abs() < 60, "{ts}");
        let id = hit.delivery();
        assert!(id.starts_with("evt_") && id.len() == 30, "{id}");
        let body = hit.json();
        assert_eq!(body["id"], id, "the delivery header is the envelope id");
        assert_eq!(hit.header(webhooks::EVENT_HEADER), body["event"]);
        assert_eq!(
            hit.header(webhooks::SIGNATURE_HEADER),
            reference_signature(&secret, ts, &hit.body),
            "hex(HMAC-SHA256(secret, ts.body))"
        );
        // The server's record of it: same evt id, the exact body, delivered with 200.
        let d = deliveries
            .iter()
            .find(|d| d.event_id == id)
            .expect("a delivery row for each request");
        assert_eq!(
            d.payload.as_bytes(),
            &hit.body[..],
            "payload is the exact body"
        );
        assert_eq!(d.endpoint_id, ep);
        assert_eq!(d.http_status, Some(200));
        assert_eq!(d.attempts, 1);
        assert!(d.delivered_at.is_some());

        let event = webhooks::verify(
            &secret,
            &hit.headers,
            &hit.body,
            webhooks::DEFAULT_TOLERANCE,
        )
        .expect("the genuine delivery verifies");
        assert_eq!(event.id(), id);
        assert_eq!(event.delivery_id(), Some(id));
        assert_eq!(event.event_type(), body["event"]);
        let raw_amount = body["data"]["amount"].as_str().map(str::to_owned);
        let exact = |amount: &Decimal| {
            assert_eq!(*amount, dec("20.02"), "20 % of 100.10");
            assert_eq!(
                Some(amount.to_string()),
                raw_amount,
                "the Decimal keeps the wire text exactly"
            );
        };
        match &event {
            Event::PartnerCreated { data, .. } => {
                assert_eq!(data.partner_id, chain.partner);
                assert_eq!(data.email, chain.email);
                assert_eq!(data.name, "Hook Partner");
                assert!(!data.invited);
            }
            Event::AttributionCreated { data, .. } => {
                assert_eq!(data.attribution_id, chain.attribution);
                assert_eq!(data.event_id, chain.event);
                assert_eq!(data.partner_id, chain.partner);
                assert_eq!(data.program_id, chain.program);
                assert_eq!(data.click_id, chain.click);
                assert_eq!(data.weight, Decimal::ONE);
                assert_eq!(data.event_type, "sale");
                assert_eq!(data.event_value, Some(dec("100.10")));
                assert_eq!(
                    data.commission_id.as_deref(),
                    Some(chain.commission.as_str())
                );
                assert_eq!(data.commission_currency.as_deref(), Some("USD"));
            }
            Event::CommissionAccrued { data, .. } => {
                assert_eq!(data.commission_id, chain.commission);
                assert_eq!(data.partner_id, chain.partner);
                assert_eq!(data.attribution_id, chain.attribution);
                assert_eq!(data.click_id.as_deref(), Some(chain.click.as_str()));
                assert_eq!(data.event_id, chain.event);
                assert_eq!(data.program_id.as_deref(), Some(chain.program.as_str()));
                exact(&data.amount);
                assert_eq!(data.currency, "USD");
                assert_eq!(data.event_type, "sale");
                assert_eq!(data.event_value, Some(dec("100.10")));
            }
            Event::CommissionApproved { data, .. } => {
                assert_eq!(data.commission_id, chain.commission);
                assert_eq!(data.partner_id, chain.partner);
                exact(&data.amount);
                assert_eq!(data.currency, "USD");
                assert_eq!(
                    data.attribution_id.as_deref(),
                    Some(chain.attribution.as_str())
                );
            }
            Event::PayoutCreated { data, .. } => {
                assert_eq!(data.payout_id, chain.payout);
                assert_eq!(data.partner_id, chain.partner);
                exact(&data.amount);
                assert_eq!(data.currency, "USD");
                assert_eq!(data.method, "manual");
                assert_eq!(data.commission_ids, std::slice::from_ref(&chain.commission));
            }
            Event::CommissionPaid { data, .. } => {
                assert_eq!(data.commission_id, chain.commission);
                assert_eq!(data.partner_id, chain.partner);
                exact(&data.amount);
                assert_eq!(data.currency, "USD");
                assert_eq!(data.payout_id, chain.payout);
            }
            other => panic!("unexpected event {other:?}"),
        }
        seen.push(event.event_type().to_owned());
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "attribution.created",
            "commission.accrued",
            "commission.approved",
            "commission.paid",
            "partner.created",
            "payout.created"
        ]
    );

    // verify() on the genuine commission.paid delivery and its forgeries.
    let paid = hits
        .iter()
        .find(|h| h.header(webhooks::EVENT_HEADER) == "commission.paid")
        .expect("commission.paid");
    let ts: i64 = paid.header(webhooks::TIMESTAMP_HEADER).parse().unwrap();
    let tol = webhooks::DEFAULT_TOLERANCE;
    assert!(webhooks::verify_at(&secret, &paid.headers, &paid.body, tol, ts).is_ok());
    let tampered = String::from_utf8(paid.body.to_vec())
        .unwrap()
        .replace("20.02", "2000.02");
    assert_ne!(tampered.as_bytes(), &paid.body[..]);
    assert_eq!(
        webhooks::verify(&secret, &paid.headers, tampered.as_bytes(), tol).unwrap_err(),
        VerifyError::BadSignature
    );
    let wrong = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(
        webhooks::verify(wrong, &paid.headers, &paid.body, tol).unwrap_err(),
        VerifyError::BadSignature
    );
    // The same signature checked 301 s later or earlier: outside the 300 s window.
    for (now, in_future) in [(ts + 301, false), (ts - 301, true)] {
        assert_eq!(
            webhooks::verify_at(&secret, &paid.headers, &paid.body, tol, now).unwrap_err(),
            VerifyError::TimestampOutsideTolerance {
                skew_secs: 301,
                in_future
            }
        );
    }
    for now in [ts + 300, ts - 300] {
        assert!(webhooks::verify_at(&secret, &paid.headers, &paid.body, tol, now).is_ok());
    }
    // Re-signed with `sign` 301 s off in either direction against the real clock.
    let event_type = paid.header(webhooks::EVENT_HEADER);
    let now = chrono::Utc::now().timestamp();
    for skewed in [now - 301, now + 302] {
        let h =
            webhooks::delivery_headers(&secret, skewed, &paid.body, event_type, paid.delivery());
        assert!(matches!(
            webhooks::verify(&secret, &h, &paid.body, tol),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
    }
    assert_eq!(
        webhooks::sign(&secret, ts, &paid.body),
        paid.header(webhooks::SIGNATURE_HEADER)
    );

    // Attempts, manual retry (same body and evt id, fresh signature) and endpoint_mismatch.
    let d = deliveries
        .iter()
        .find(|d| d.event_type == "commission.paid")
        .expect("paid delivery");
    let log = env.block_on(hooks.attempts(&ep, &d.id)).expect("attempts");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].n, 1);
    assert_eq!(log[0].trigger, AttemptTrigger::Scheduled);
    assert_eq!(log[0].http_status, Some(200));
    assert_eq!(log[0].error, None);

    let e = env
        .block_on(hooks.retry_delivery(&other, &d.id))
        .expect_err("another endpoint's delivery");
    assert_eq!(api_code(&e), (Some(400), Some("endpoint_mismatch")), "{e}");
    let e = env
        .block_on(hooks.attempts(&other, &d.id))
        .expect_err("another endpoint's delivery");
    assert_eq!(api_code(&e), (Some(400), Some("endpoint_mismatch")), "{e}");
    let before = target.hits().len();
    let retried = env
        .block_on(hooks.retry_delivery(&ep, &d.id))
        .expect("retry");
    assert_eq!(retried.id, d.id);
    assert_eq!(retried.attempts, 2);
    assert_eq!(retried.status, DeliveryStatus::Delivered);
    let again = target.wait_for(before + 1)[before].clone();
    assert_eq!(again.delivery(), paid.delivery(), "same evt id on a retry");
    assert_eq!(again.body, paid.body, "same body on a retry");
    let again_ts = again.header(webhooks::TIMESTAMP_HEADER);
    assert_eq!(
        again.header(webhooks::SIGNATURE_HEADER),
        reference_signature(&secret, again_ts, &again.body)
    );
    webhooks::verify(&secret, &again.headers, &again.body, tol).expect("the retry verifies");
    let log = env.block_on(hooks.attempts(&ep, &d.id)).expect("attempts");
    assert_eq!(
        log.iter()
            .map(|a| (a.n, a.trigger.clone()))
            .collect::<Vec<_>>(),
        [(1, AttemptTrigger::Scheduled), (2, AttemptTrigger::Manual)]
    );
    let e = env
        .block_on(hooks.retry_delivery(&ep, "01JAAAAAAAAAAAAAAAAAAAAAAA"))
        .expect_err("no such delivery");
    assert_eq!(e.status(), Some(404), "{e}");
}

// ---------------------------------------------------------------------------------------
// 2. CLI commands
// ---------------------------------------------------------------------------------------

fn exit_code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

#[test]
fn cli_webhook_commands_against_the_server() {
    if requires_extensions(
        "webhook-retries",
        "the test runs `webhooks attempts` (the [EXT] attempt log)",
    ) {
        return;
    }
    let env = Env::start();
    let target = Target::start(&env, Duration::ZERO, |_, _| 200);

    let created = env.json(&[
        "webhooks",
        "create",
        "--url",
        &target.url("/cli"),
        "--event",
        "partner.created,commission.paid",
        "--label",
        "cli",
        "-o",
        "json",
    ]);
    let id = created["id"].as_str().expect("id").to_owned();
    assert_secret_shape(created["secret"].as_str().expect("secret shown once"));
    assert_eq!(
        created["events"],
        serde_json::json!(["partner.created", "commission.paid"])
    );
    assert_eq!(created["label"], "cli");

    let list = env.json_rows(&["webhooks", "list", "-o", "json"]);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
    assert!(
        list[0].get("secret").is_none(),
        "the list never shows the secret"
    );
    let got = env.json(&["webhooks", "get", &id, "-o", "json"]);
    assert_eq!(got["url"], target.url("/cli"));
    assert_eq!(got["active"], true);

    let upd = env.json(&[
        "webhooks",
        "update",
        &id,
        "--url",
        &target.url("/cli2"),
        "--event",
        "*",
        "--label",
        "renamed",
        "--deactivate",
        "-o",
        "json",
    ]);
    assert_eq!(upd["url"], target.url("/cli2"));
    assert_eq!(upd["events"], serde_json::json!(["*"]));
    assert_eq!(upd["label"], "renamed");
    assert_eq!(upd["active"], false);

    // 400 endpoint_inactive → exit 1 with the code on stderr.
    let out = env.run(&["webhooks", "test", &id, "-o", "json"]);
    assert_eq!(exit_code(&out), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("endpoint_inactive"));
    let upd = env.json(&[
        "webhooks",
        "update",
        &id,
        "--activate",
        "--clear-label",
        "-o",
        "json",
    ]);
    assert_eq!(upd["active"], true);
    assert_eq!(upd["label"], Value::Null);
    // An update without a field to change is a usage error, sent nowhere.
    let out = env.run(&["webhooks", "update", &id]);
    assert_eq!(exit_code(&out), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to change"));

    // A delivery of a real event, then its log, a retry and a test ping.
    env.ok(&[
        "partners",
        "create",
        "--email",
        "cli-hook@example.com",
        "--name",
        "Cli Hook",
        "--no-invite",
    ]);
    let deliveries = wait_deliveries(&env, &id, all_delivered(1));
    let delivery = deliveries[0].id.clone();
    let rows = env.json_rows(&["webhooks", "deliveries", &id, "-o", "json"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], delivery.as_str());
    assert_eq!(rows[0]["eventType"], "partner.created");
    assert_eq!(rows[0]["status"], "delivered");
    assert_eq!(rows[0]["httpStatus"], 200);
    let hit = &target.wait_for(1)[0];
    assert_eq!(
        rows[0]["payload"].as_str().map(str::as_bytes),
        Some(&hit.body[..])
    );
    assert_eq!(rows[0]["eventId"], hit.delivery());

    let retried = env.json(&["webhooks", "retry", &id, &delivery, "-o", "json"]);
    assert_eq!(retried["id"], delivery.as_str());
    assert_eq!(retried["attempts"], 2);
    assert_eq!(retried["status"], "delivered");
    let log = env.json_rows(&["webhooks", "attempts", &id, &delivery, "-o", "json"]);
    assert_eq!(
        log.iter()
            .map(|a| (
                a["n"].as_u64().unwrap(),
                a["trigger"].as_str().unwrap().to_owned(),
                a["httpStatus"].as_u64()
            ))
            .collect::<Vec<_>>(),
        [
            (1, "scheduled".to_owned(), Some(200)),
            (2, "manual".to_owned(), Some(200))
        ]
    );
    let hits = target.wait_for(2);
    assert_eq!(
        hits[1].delivery(),
        hits[0].delivery(),
        "the retry keeps the evt id"
    );

    let ping = env.json(&["webhooks", "test", &id, "-o", "json"]);
    assert_eq!(ping["delivery"]["eventType"], "webhook.test");
    assert_eq!(ping["event"]["data"]["_synthetic"], true);
    let ping_typed = env.json(&[
        "webhooks",
        "test",
        &id,
        "--event",
        "commission.paid",
        "-o",
        "json",
    ]);
    assert_eq!(ping_typed["delivery"]["eventType"], "commission.paid");
    target.wait_for(4);

    // 400 endpoint_mismatch (exit 1) and 404s (exit 3).
    let other = env.json(&[
        "webhooks",
        "create",
        "--url",
        &target.url("/other"),
        "--event",
        "partner.activated",
        "-o",
        "json",
    ]);
    let other = other["id"].as_str().unwrap().to_owned();
    let out = env.run(&["webhooks", "retry", &other, &delivery]);
    assert_eq!(
        exit_code(&out),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("endpoint_mismatch"));
    let out = env.run(&[
        "webhooks",
        "create",
        "--url",
        "ftp://x.example.com",
        "--event",
        "nope",
    ]);
    assert_eq!(exit_code(&out), Some(1), "400 invalid_body");
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_body"));
    for args in [
        &["webhooks", "get", "01JAAAAAAAAAAAAAAAAAAAAAAA"][..],
        &["webhooks", "deliveries", "01JAAAAAAAAAAAAAAAAAAAAAAA"],
        &["webhooks", "retry", &id, "01JAAAAAAAAAAAAAAAAAAAAAAA"],
        &["webhooks", "attempts", &id, "01JAAAAAAAAAAAAAAAAAAAAAAA"],
        &["webhooks", "delete", "01JAAAAAAAAAAAAAAAAAAAAAAA"],
    ] {
        let out = env.run(args);
        assert_eq!(
            exit_code(&out),
            Some(3),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // delete = deactivate; --hard removes.
    env.ok(&["webhooks", "delete", &id]);
    assert_eq!(
        env.json(&["webhooks", "get", &id, "-o", "json"])["active"],
        false
    );
    env.ok(&["webhooks", "delete", &id, "--hard"]);
    let out = env.run(&["webhooks", "get", &id]);
    assert_eq!(exit_code(&out), Some(3));
    let list = env.json_rows(&["webhooks", "list", "-o", "json"]);
    assert_eq!(
        list.iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [other.as_str()]
    );
}

// ---------------------------------------------------------------------------------------
// 3. webhooks listen --forward-to
// ---------------------------------------------------------------------------------------

/// `openpartner webhooks listen` as a child process.
struct Listener {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: Arc<Mutex<Vec<String>>>,
    endpoint: String,
    url: String,
}

impl Listener {
    fn start(env: &Env, forward_to: &str) -> Listener {
        Listener::start_with(env, forward_to, &[])
    }

    /// `webhooks listen --forward-to <forward_to> -o ndjson <extra…>`.
    fn start_with(env: &Env, forward_to: &str, extra: &[&str]) -> Listener {
        let mut child = env
            .std_cli()
            .args([
                "webhooks",
                "listen",
                "--forward-to",
                forward_to,
                "-o",
                "ndjson",
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("listen starts");
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let (tx, stdout) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (started_tx, started) = mpsc::channel();
        let lines = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if line.starts_with("Listening on ") {
                    let _ = started_tx.send(line.clone());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let line = started
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("listen never started: {:?}", stderr.lock().unwrap()));
        // "Listening on http://127.0.0.1:<port>/ as endpoint <id> (<url>, events *)."
        let mut words = line.split_whitespace();
        let url = words.nth(2).expect("url").to_owned();
        let endpoint = words.nth(2).expect("endpoint id").to_owned();
        Listener {
            child,
            stdout,
            stderr,
            endpoint,
            url,
        }
    }

    /// The next `n` NDJSON lines of stdout.
    fn lines(&self, n: usize) -> Vec<Value> {
        (0..n)
            .map(|_| {
                let line = self
                    .stdout
                    .recv_timeout(Duration::from_secs(30))
                    .expect("a line from listen");
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not NDJSON ({e}): {line}"))
            })
            .collect()
    }

    /// Sends `signal` (`INT`, `TERM`) and waits for the exit code.
    fn stop(mut self, signal: &str) -> (Option<i32>, String) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let code = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s.code();
            }
            assert!(
                Instant::now() < deadline,
                "listen did not stop on SIG{signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // Let the reader thread collect the last lines.
        std::thread::sleep(Duration::from_millis(100));
        (code, self.stderr.lock().unwrap().join("\n"))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listed(env: &Env, id: &str) -> bool {
    env.block_on(env.client().webhooks().list())
        .expect("list")
        .iter()
        .any(|e| e.id == id)
}

/// Creates partners one by one, `gap` apart; returns their ids in creation order.
fn create_partners(client: &Client, env: &Env, n: usize, gap: Duration) -> Vec<String> {
    (0..n)
        .map(|i| {
            let p = env
                .block_on(
                    client
                        .partners()
                        .create(format!("listen{i}@example.com"), format!("Listen {i}"))
                        .send_invite(false)
                        .send(),
                )
                .expect("partner")
                .data
                .partner
                .id;
            std::thread::sleep(gap);
            p
        })
        .collect()
}

#[test]
fn listen_forwards_one_at_a_time_in_arrival_order_and_deletes_its_endpoint_on_sigint() {
    let env = Env::start();
    // A slow target that answers 202: deliveries pile up in the listener's queue.
    let target = Target::start(&env, Duration::from_millis(400), |_, _| 202);
    let listen = Listener::start(&env, &target.url("/forward"));

    let client = env.client();
    let ep = env
        .block_on(client.webhooks().get(&listen.endpoint))
        .expect("the temporary endpoint exists");
    assert_eq!(ep.url, listen.url);
    assert_eq!(ep.events, ["*"]);
    assert!(ep.active);
    assert_eq!(ep.label.as_deref(), Some("openpartner webhooks listen"));
    assert!(listed(&env, &listen.endpoint), "visible in GET /webhooks");

    let partners = create_partners(&client, &env, 5, Duration::from_millis(150));
    let hits = target.wait_for(5);
    let printed = listen.lines(5);
    let deliveries = wait_deliveries(&env, &listen.endpoint, all_delivered(5));

    // Creation order = the order of the partners = the order of the delivery rows.
    let mut rows = deliveries.clone();
    rows.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then(a.event_id.cmp(&b.event_id))
    });
    let created_order: Vec<String> = rows.iter().map(|d| d.event_id.clone()).collect();
    let forwarded: Vec<String> = hits.iter().map(|h| h.delivery().to_owned()).collect();
    let printed_ids: Vec<String> = printed
        .iter()
        .map(|l| l["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(forwarded, created_order, "forwarded in creation order");
    assert_eq!(printed_ids, forwarded, "printed in the order forwarded");
    let forwarded_partners: Vec<String> = hits
        .iter()
        .map(|h| h.json()["data"]["partnerId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(forwarded_partners, partners);
    // Never two forwards at once.
    assert_eq!(target.overlaps(), 0);
    for pair in hits.windows(2) {
        assert!(pair[0].left <= pair[1].entered, "forwards overlapped");
    }
    // The forward carries the original signed delivery; the target's status is recorded.
    let forwarded_as_sent = hits.iter().all(|h| {
        h.path == "/forward"
            && h.headers.contains_key(webhooks::SIGNATURE_HEADER)
            && h.header(webhooks::EVENT_HEADER) == "partner.created"
    });
    assert!(forwarded_as_sent);
    for line in &printed {
        assert_eq!(line["event"], "partner.created");
        assert_eq!(line["status"], 202);
        assert_eq!(line["forwardStatus"], 202);
        assert_eq!(line["deliveryId"], line["id"]);
    }
    for d in &deliveries {
        assert_eq!(
            d.http_status,
            Some(202),
            "the server records the target's status"
        );
        assert_eq!(d.attempts, 1);
        let hit = hits.iter().find(|h| h.delivery() == d.event_id).unwrap();
        assert_eq!(d.payload.as_bytes(), &hit.body[..]);
    }

    // A test ping named after a real type is verified and forwarded, not rejected.
    let ping = env
        .block_on(client.webhooks().test(&ep.id, Some("commission.paid")))
        .expect("test ping");
    assert_eq!(ping.delivery.http_status, Some(202), "{ping:?}");
    let line = &listen.lines(1)[0];
    assert_eq!(line["event"], "commission.paid");
    assert_eq!(line["id"], ping.delivery.event_id.as_str());
    assert_eq!(line["status"], 202);
    assert_eq!(target.wait_for(6)[5].delivery(), ping.delivery.event_id);

    let (code, stderr) = listen.stop("INT");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("Deleted endpoint {}", ep.id)),
        "{stderr}"
    );
    assert!(
        !listed(&env, &ep.id),
        "hard-deleted: GET /webhooks no longer lists it"
    );
    let e = env
        .block_on(client.webhooks().get(&ep.id))
        .expect_err("gone");
    assert_eq!(e.status(), Some(404));
    assert!(
        !stderr.contains("whsec_"),
        "the secret is never printed: {stderr}"
    );
}

#[test]
fn listen_lets_the_server_retry_a_failing_target_and_refuses_forged_deliveries() {
    if requires_extensions(
        "webhook-retries",
        "its subject is the server retrying a failing forward target ([EXT] automatic retries)",
    ) {
        return;
    }
    let env = Env::start_with(|c| {
        c.webhook_attempts = 5;
        c.webhook_schedule = vec![Duration::from_millis(300)];
    });
    // Each delivery fails twice with 500, then the target recovers.
    let target = Target::start(&env, Duration::ZERO, |_, n| if n < 2 { 500 } else { 200 });
    let listen = Listener::start(&env, &target.url("/flaky"));
    let client = env.client();

    create_partners(&client, &env, 3, Duration::ZERO);
    let deliveries = wait_deliveries(&env, &listen.endpoint, all_delivered(3));
    assert_eq!(deliveries.len(), 3);
    let hits = target.wait_for(9);
    for d in &deliveries {
        assert_eq!(d.status, DeliveryStatus::Delivered);
        assert_eq!(d.attempts, 3, "{d:?}");
        assert_eq!(d.http_status, Some(200));
        let log = env
            .block_on(client.webhooks().attempts(&listen.endpoint, &d.id))
            .expect("attempts");
        assert_eq!(
            log.iter()
                .map(|a| (a.n, a.trigger.clone(), a.http_status, a.error.clone()))
                .collect::<Vec<_>>(),
            [
                (
                    1,
                    AttemptTrigger::Scheduled,
                    Some(500),
                    Some("HTTP 500".to_owned())
                ),
                (
                    2,
                    AttemptTrigger::Scheduled,
                    Some(500),
                    Some("HTTP 500".to_owned())
                ),
                (3, AttemptTrigger::Scheduled, Some(200), None),
            ]
        );
        // Each evt id reached the target, and exactly one of its forwards succeeded.
        let mine: Vec<&Hit> = hits.iter().filter(|h| h.delivery() == d.event_id).collect();
        assert_eq!(mine.len(), 3);
        assert_eq!(mine.iter().filter(|h| h.status == 200).count(), 1);
        assert!(
            mine.iter().all(|h| h.body == mine[0].body),
            "same body each time"
        );
    }
    assert_eq!(hits.len(), 9, "nothing else was forwarded");
    assert_eq!(target.overlaps(), 0);
    let printed = listen.lines(9);
    let mut statuses: Vec<(String, u64)> = printed
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap().to_owned(),
                l["status"].as_u64().unwrap(),
            )
        })
        .collect();
    statuses.sort();
    let mut want: Vec<(String, u64)> = deliveries
        .iter()
        .flat_map(|d| {
            [
                (d.event_id.clone(), 200),
                (d.event_id.clone(), 500),
                (d.event_id.clone(), 500),
            ]
        })
        .collect();
    want.sort();
    assert_eq!(statuses, want);

    // A forged delivery posted straight to the listener: 400, loud, exit code 1.
    let body = br#"{"id":"evt_01JFORGEDFORGEDFORGEDFORGED","event":"commission.paid","created":"2026-11-20T10:30:00.000Z","data":{}}"#;
    let headers = webhooks::delivery_headers(
        "whsec_notthesecretnotthesecretnotthes",
        chrono::Utc::now().timestamp(),
        body,
        "commission.paid",
        "evt_01JFORGEDFORGEDFORGEDFORGED",
    );
    let status = env.block_on(async {
        reqwest::Client::new()
            .post(&listen.url)
            .headers(headers)
            .body(&body[..])
            .send()
            .await
            .expect("the listener answers")
            .status()
            .as_u16()
    });
    assert_eq!(status, 400);
    assert_eq!(
        target.hits().len(),
        9,
        "a forged delivery is never forwarded"
    );
    let endpoint = listen.endpoint.clone();
    let (code, stderr) = listen.stop("TERM");
    assert_eq!(
        code,
        Some(1),
        "a rejected delivery makes the exit code non-zero: {stderr}"
    );
    assert!(
        stderr.contains("REJECTED delivery evt_01JFORGEDFORGEDFORGEDFORGED: signature mismatch"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 delivery failed verification"),
        "{stderr}"
    );
    assert!(
        !listed(&env, &endpoint),
        "SIGTERM also hard-deletes the endpoint"
    );
}

#[test]
fn listen_answers_502_when_the_forward_target_is_down_and_subscribes_to_the_events_asked() {
    if requires_extensions(
        "webhook-retries",
        "it checks the delivery stays pending for an [EXT] automatic retry",
    ) {
        return;
    }
    let env = Env::start();
    // A port nothing listens on: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let listen = Listener::start_with(
        &env,
        &format!("http://{closed}/down"),
        &["--events", "partner.created,commission.paid"],
    );
    let client = env.client();
    let ep = env
        .block_on(client.webhooks().get(&listen.endpoint))
        .expect("endpoint");
    assert_eq!(ep.events, ["partner.created", "commission.paid"]);

    create_partners(&client, &env, 1, Duration::ZERO);
    let line = &listen.lines(1)[0];
    assert_eq!(line["event"], "partner.created");
    assert_eq!(line["status"], 502);
    assert_eq!(line["forwardStatus"], Value::Null);
    assert!(line["forwardError"].is_string(), "{line}");
    let d = wait_deliveries(&env, &listen.endpoint, |d| {
        d.first().is_some_and(|d| d.attempts == 1)
    });
    assert_eq!(
        d[0].http_status,
        Some(502),
        "the server records the listener's 502"
    );
    assert_eq!(d[0].error.as_deref(), Some("HTTP 502"));
    assert_eq!(
        d[0].status,
        DeliveryStatus::Pending,
        "retried on the schedule, not given up"
    );
    assert!(d[0].next_attempt_at.is_some());
    let (code, stderr) = listen.stop("INT");
    assert_eq!(
        code,
        Some(0),
        "a failed forward is not a verification failure: {stderr}"
    );
    assert!(!listed(&env, &ep.id));
}

#[test]
fn listen_says_so_when_the_server_refuses_to_deliver_to_this_machine() {
    // A server whose SSRF guard blocks loopback (no --outbound-allow-private-cidrs).
    let env = Env::start_with(|c| c.outbound_allow_private_cidrs = Vec::new());
    let target = Target::start(&env, Duration::ZERO, |_, _| 200);
    let listen = Listener::start(&env, &target.url("/never"));
    create_partners(&env.client(), &env, 1, Duration::ZERO);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = listen.stderr.lock().unwrap().join("\n");
        if seen.contains("the server refused to deliver partner.created") {
            assert!(
                seen.contains("--outbound-allow-private-cidrs 127.0.0.0/8"),
                "{seen}"
            );
            assert!(
                seen.contains("blocked: 127.0.0.1 is a loopback address"),
                "{seen}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no warning on stderr: {seen}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (code, _) = listen.stop("TERM");
    assert_eq!(code, Some(0));
    assert!(target.hits().is_empty(), "nothing was delivered");
}
