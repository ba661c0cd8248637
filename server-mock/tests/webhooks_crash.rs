//! Webhook durability on the real binary: deliveries pending (between automatic retries
//! or mid-send) when the server is SIGKILLed resume when it restarts on the same
//! database, and every event reaches a de-duplicating receiver exactly once under its one
//! `evt_` id (sending is at-least-once; the id is what makes the receiver exactly-once).

mod bin_support;
mod webhooks_support;

use std::collections::{HashMap, HashSet};
use std::process::Child;
use std::time::Duration;

use serde_json::{json, Value};
use webhooks_support::Receiver;

const ADMIN: &str = "crash-admin";
const EVENTS: usize = 30;

fn start(db: &str) -> (Child, String) {
    bin_support::spawn(
        ADMIN,
        &[
            "--db",
            db,
            "--rate-limit",
            "off",
            "--webhook-attempts",
            "8",
            "--webhook-schedule",
            "300ms",
            "--outbound-allow-private-cidrs",
            "127.0.0.0/8",
        ],
    )
}

fn kill(child: &mut Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
}

async fn pending(http: &reqwest::Client, base: &str, ep: &str) -> usize {
    let d: Value = http
        .get(format!("{base}/webhooks/{ep}/deliveries"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    d["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "pending")
        .count()
}

#[tokio::test]
async fn pending_deliveries_survive_sigkill_and_each_event_arrives_once_per_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("wh.db");
    let db = db.to_str().unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let rx = Receiver::start().await;
    // every event needs three attempts: 500, 500, then 200
    rx.fail_first_per_id(2);

    let (mut child, base) = start(db);
    let r = http
        .post(format!("{base}/webhooks"))
        .bearer_auth(ADMIN)
        .json(&json!({"url": rx.url("/crash"), "events": ["partner.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let ep = r.json::<Value>().await.unwrap()["endpoint"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..EVENTS {
        let r = http
            .post(format!("{base}/partners"))
            .bearer_auth(ADMIN)
            .json(&json!({"email": format!("c{i}@x.co"), "name": "C", "sendInvite": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    // first kill: once every event was tried at least once, with all still pending
    rx.wait_for(EVENTS).await;
    let before_kill = pending(&http, &base, &ep).await;
    kill(&mut child);
    assert!(before_kill > 0, "deliveries were pending at the kill");

    // second kill: after the restarted server made some progress
    let (mut child, base) = start(db);
    let seen = rx.got().len();
    rx.wait_for(seen + EVENTS / 2).await;
    kill(&mut child);

    let (mut child, base2) = start(db);
    let _ = base;
    // wait until every event was accepted (answered 2xx) at least once
    let mut accepted: HashMap<String, usize> = HashMap::new();
    for _ in 0..600 {
        accepted.clear();
        for g in rx.got().iter().filter(|g| g.answered == 200) {
            *accepted
                .entry(g.header("x-openpartner-delivery").to_owned())
                .or_default() += 1;
        }
        if accepted.len() >= EVENTS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = rx.got();
    // the de-duplicating receiver: the first accepted request per id is processed
    let mut processed: HashSet<String> = HashSet::new();
    let mut emails: Vec<String> = Vec::new();
    for g in got.iter().filter(|g| g.answered == 200) {
        let id = g.header("x-openpartner-delivery").to_owned();
        let body = g.json();
        assert_eq!(body["id"], id.as_str(), "the header is the envelope id");
        if processed.insert(id) {
            emails.push(body["data"]["email"].as_str().unwrap().to_owned());
        }
    }
    let ids: HashSet<&str> = got
        .iter()
        .map(|g| g.header("x-openpartner-delivery"))
        .collect();
    assert_eq!(ids.len(), EVENTS, "one evt id per event, across restarts");
    assert_eq!(processed.len(), EVENTS, "every event arrived");
    emails.sort();
    emails.dedup();
    assert_eq!(emails.len(), EVENTS, "each partner's event processed once");
    let duplicates: usize = accepted.values().map(|n| n - 1).sum();
    println!(
        "requests {}, pending at the first kill {before_kill}, accepted ids {}, \
         duplicate 2xx deliveries (at-least-once) {duplicates}",
        got.len(),
        processed.len()
    );

    // the server agrees: every delivery delivered
    let mut delivered = 0;
    for _ in 0..100 {
        let d: Value = http
            .get(format!("{base2}/webhooks/{ep}/deliveries"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let list = d["deliveries"].as_array().unwrap();
        delivered = list.iter().filter(|d| d["status"] == "delivered").count();
        if delivered == EVENTS {
            // an attempt a kill interrupted before it was recorded is not counted, so a
            // delivery records at most as many attempts as the receiver saw for its id
            for d in list {
                let id = d["eventId"].as_str().unwrap();
                let seen = got
                    .iter()
                    .filter(|g| g.header("x-openpartner-delivery") == id)
                    .count() as u64;
                let recorded = d["attempts"].as_u64().unwrap();
                assert!((1..=seen).contains(&recorded), "{id}: {recorded} of {seen}");
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered, EVENTS);
    kill(&mut child);
}
