//! Runs `webhook_receiver` and sends it signed deliveries: each is accepted once, a
//! delivery sent twice (a retry: same delivery id, fresh timestamp and signature) is
//! answered 200 but not handled again, a tampered one and a stale one are refused. Then
//! against the in-process reference server: the server's own deliveries verify, and a
//! manual retry of a delivered delivery (same `evt_` id) is counted once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use openpartner::webhooks;
use serde_json::json;

const SECRET: &str = "whsec_receiverreceiverreceiverrecei0";

struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn start() -> Running {
        Running::with_secret(SECRET)
    }

    fn with_secret(secret: &str) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_webhook_receiver"))
            .arg("127.0.0.1:0")
            .env("OPENPARTNER_WEBHOOK_SECRET", secret)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("receiver starts");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .expect("a line from the receiver")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn body(event: &str, id: &str, data: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"id": id, "event": event,
        "created": "2026-11-20T10:30:00.000Z", "data": data}))
    .unwrap()
}

#[tokio::test]
async fn accepts_each_delivery_once_and_refuses_tampered_ones() {
    let rx = Running::start();
    let first = rx.line();
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    let http = reqwest::Client::new();
    let send = |event: &'static str, id: &'static str, signed: Vec<u8>, sent: Vec<u8>, ts: i64| {
        let http = http.clone();
        let url = url.clone();
        async move {
            http.post(&url)
                .headers(webhooks::delivery_headers(SECRET, ts, &signed, event, id))
                .body(sent)
                .send()
                .await
                .expect("receiver answers")
                .status()
                .as_u16()
        }
    };
    let now = || chrono::Utc::now().timestamp();

    let paid = body(
        "commission.paid",
        "evt_paid",
        json!({"commissionId":"com_1","partnerId":"prt_1","amount":"40.10","currency":"USD","payoutId":"pay_1"}),
    );
    let payout = body(
        "payout.created",
        "evt_payout",
        json!({"payoutId":"pay_1","partnerId":"prt_1","amount":"40.10","currency":"USD","method":"manual","commissionIds":["com_1"]}),
    );
    assert_eq!(
        send(
            "commission.paid",
            "evt_paid",
            paid.clone(),
            paid.clone(),
            now()
        )
        .await,
        200
    );
    assert_eq!(
        rx.line(),
        "accepted commission.paid evt_paid delivery=evt_paid commission=com_1 40.10 USD payout=pay_1"
    );
    // The retry of the same delivery: a fresh timestamp (and so signature), same id.
    assert_eq!(
        send(
            "commission.paid",
            "evt_paid",
            paid.clone(),
            paid.clone(),
            now() - 5
        )
        .await,
        200
    );
    assert_eq!(rx.line(), "duplicate delivery=evt_paid");
    assert_eq!(
        send(
            "payout.created",
            "evt_payout",
            payout.clone(),
            payout.clone(),
            now()
        )
        .await,
        200
    );
    assert_eq!(
        rx.line(),
        "accepted payout.created evt_payout delivery=evt_payout payout=pay_1 40.10 USD"
    );
    // Tampered: the amount changed after signing.
    let tampered = String::from_utf8(paid.clone())
        .unwrap()
        .replace("40.10", "4000.10")
        .into_bytes();
    let forged = body(
        "commission.paid",
        "evt_forged",
        json!({"commissionId":"com_2","partnerId":"prt_1","amount":"1.00","currency":"USD","payoutId":"pay_2"}),
    );
    assert_eq!(
        send("commission.paid", "evt_forged", forged, tampered, now()).await,
        400
    );
    assert_eq!(rx.line(), "rejected: signature mismatch");
    // A genuine signature from 10 minutes ago: a replay, refused.
    let old = body("webhook.test", "evt_old", json!({"_synthetic": true}));
    assert_eq!(
        send("webhook.test", "evt_old", old.clone(), old, now() - 600).await,
        400
    );
    assert!(rx
        .line()
        .starts_with("rejected: timestamp outside tolerance"));
    // Nothing else was printed: each delivery was handled exactly once.
    assert!(rx.lines.recv_timeout(Duration::from_millis(300)).is_err());
}

const ADMIN_KEY: &str = "op_receiver00000000000000000000000000000000000000000";

// `rx.line()` blocks its worker thread while the server runs on the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verifies_the_reference_servers_deliveries_and_counts_a_manual_retry_once() {
    let mut config = openpartner_mock::Config::for_tests(ADMIN_KEY);
    config.route_limits = false;
    let server = openpartner_mock::spawn(config)
        .await
        .expect("server starts");
    let client = openpartner::Client::builder()
        .base_url(server.base_url.as_str())
        .credentials(openpartner::Credentials::api_key(ADMIN_KEY))
        .build()
        .expect("client");
    let hooks = client.webhooks();
    // The secret comes first (the receiver needs it to start), the URL once it listens.
    let created = hooks
        .create("http://127.0.0.1:9/", vec!["partner.created".into()])
        .label("webhook_receiver example")
        .send()
        .await
        .expect("endpoint");
    let endpoint = created.endpoint.id.clone();
    let rx = Running::with_secret(created.secret.expose());
    let first = rx.line();
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    hooks
        .update(&endpoint)
        .url(url)
        .send()
        .await
        .expect("point the endpoint at the receiver");

    let partner = client
        .partners()
        .create("receiver@example.com", "Receiver")
        .send_invite(false)
        .send()
        .await
        .expect("partner")
        .data
        .partner;
    let accepted = rx.line();
    let delivery = wait_delivered(&hooks, &endpoint).await;
    assert_eq!(
        accepted,
        format!(
            "accepted partner.created {id} delivery={id} partner={}",
            partner.id,
            id = delivery.event_id
        )
    );

    // A manual retry: same evt id, fresh timestamp and signature → verified, not handled
    // again, answered 200 (so the server records it delivered).
    let retried = hooks
        .retry_delivery(&endpoint, &delivery.id)
        .await
        .expect("retry");
    assert_eq!(retried.attempts, 2);
    assert_eq!(retried.http_status, Some(200));
    assert_eq!(
        rx.line(),
        format!("duplicate delivery={}", delivery.event_id)
    );

    // A test ping is a delivery of its own: accepted once, as a synthetic event, also when
    // it borrows a real type's name (its data is only `{"_synthetic":true}`).
    for event in [None, Some("commission.paid")] {
        let ping = hooks.test(&endpoint, event).await.expect("test ping");
        assert_eq!(
            rx.line(),
            format!(
                "accepted {} {id} delivery={id} (synthetic test event)",
                event.unwrap_or("webhook.test"),
                id = ping.delivery.event_id
            )
        );
        assert_eq!(ping.delivery.http_status, Some(200), "{ping:?}");
    }
    assert!(rx.lines.recv_timeout(Duration::from_millis(300)).is_err());
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(5), server.shutdown()).await;
}

/// The endpoint's one delivery once it is delivered (up to 30 s).
async fn wait_delivered(
    hooks: &openpartner::api::webhooks::WebhookEndpoints,
    endpoint: &str,
) -> openpartner::types::WebhookDelivery {
    for _ in 0..600 {
        let list = hooks.deliveries(endpoint).await.expect("deliveries");
        if let [d] = &list[..] {
            if d.status == openpartner::types::DeliveryStatus::Delivered {
                assert_eq!(d.attempts, 1);
                return d.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the delivery was never delivered");
}
