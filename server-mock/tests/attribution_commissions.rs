//! Commission lists ([EXT] keyset cursor + filters across pages, base behaviour without
//! extensions), export (CSV rules of §3.8, streaming, errors) and the seeds.

mod attribution_support;

use std::collections::HashSet;

use attribution_support::{ts, ADMIN, DAY, T};
use reqwest::Method;
use serde_json::{json, Value};

const TENANT: &str = "01J0000000DEFAULTTENANT0000";

fn seed(t: &T, spec: &str) {
    t.srv
        .state()
        .db
        .with_blocking({
            let spec = spec.to_owned();
            move |c| openpartner_mock::seed::run(c, TENANT, &spec, chrono::Utc::now())
        })
        .expect("db")
        .expect("seed");
}

/// Walks every page of `/commissions?<query>` and returns the rows.
async fn walk(t: &T, query: &str) -> (Vec<Value>, usize) {
    let mut rows = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("/commissions?{query}&cursor={c}"),
            None => format!("/commissions?{query}"),
        };
        let r = t.get(&q).await;
        assert_eq!(r.status, 200, "{}", r.text);
        pages += 1;
        rows.extend(r.body["commissions"].as_array().unwrap().iter().cloned());
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => {
                assert_eq!(r.body["nextCursor"], Value::Null);
                break;
            }
        }
        assert!(pages < 1000);
    }
    (rows, pages)
}

fn sql_count(t: &T, filter: &str, args: &[&str]) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM commissions WHERE {filter}");
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    t.srv
        .state()
        .db
        .with_blocking(move |c| {
            c.query_row(&sql, rusqlite::params_from_iter(args.iter()), |r| r.get(0))
                .unwrap()
        })
        .expect("db")
}

#[tokio::test]
async fn keyset_pagination_with_filters_across_pages() {
    let t = T::new().await;
    seed(&t, "commissions:1500");
    // every row exactly once, in (accruedAt desc, id desc) order
    let (all, pages) = walk(&t, "limit=200").await;
    assert_eq!(all.len(), 1500);
    assert_eq!(pages, 8);
    let ids: HashSet<&str> = all.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1500);
    for w in all.windows(2) {
        let a = (
            w[0]["accruedAt"].as_str().unwrap(),
            w[0]["id"].as_str().unwrap(),
        );
        let b = (
            w[1]["accruedAt"].as_str().unwrap(),
            w[1]["id"].as_str().unwrap(),
        );
        assert!(a > b, "{a:?} then {b:?}");
    }
    // filters hold on every page
    let partner = all[0]["partnerId"].as_str().unwrap().to_owned();
    let program = all[0]["programId"].as_str().unwrap().to_owned();
    let since = all[1200]["accruedAt"].as_str().unwrap().to_owned();
    let until = all[100]["accruedAt"].as_str().unwrap().to_owned();
    let (rows, _) = walk(
        &t,
        &format!("limit=7&status=paid&since={since}&until={until}&programId={program}"),
    )
    .await;
    let expected = sql_count(
        &t,
        "status = 'paid' AND accrued_at >= ?1 AND accrued_at < ?2 AND program_id = ?3",
        &[&since, &until, &program],
    );
    assert!(expected > 7, "the filter spans several pages");
    assert_eq!(rows.len() as i64, expected);
    assert!(rows.iter().all(|r| r["status"] == "paid"
        && r["accruedAt"].as_str().unwrap() >= since.as_str()
        && r["accruedAt"].as_str().unwrap() < until.as_str()));
    let (rows, _) = walk(&t, &format!("limit=3&partnerId={partner}&status=accrued")).await;
    assert_eq!(
        rows.len() as i64,
        sql_count(&t, "partner_id = ?1 AND status = 'accrued'", &[&partner])
    );
    assert!(rows.iter().all(|r| r["partnerId"] == json!(partner)));
    // the partner list pages the same way (partnerId comes from the path)
    let r = t
        .get(&format!("/partners/{partner}/commissions?limit=2"))
        .await;
    assert_eq!(r.body["commissions"].as_array().unwrap().len(), 2);
    assert!(r.body["nextCursor"].is_string());
    let c = r.body["nextCursor"].as_str().unwrap();
    let r2 = t
        .get(&format!(
            "/partners/{partner}/commissions?limit=2&cursor={c}"
        ))
        .await;
    assert_ne!(
        r2.body["commissions"][0]["id"],
        r.body["commissions"][0]["id"]
    );
    // padded cursors are accepted
    let padded = format!("{c}{}", "=".repeat((4 - c.len() % 4) % 4));
    let r3 = t
        .get(&format!(
            "/partners/{partner}/commissions?limit=2&cursor={}",
            padded.replace('=', "%3D")
        ))
        .await;
    assert_eq!(r3.body["commissions"], r2.body["commissions"]);
    // errors
    for (q, code) in [
        ("?cursor=%21%21", "invalid_cursor"),
        ("?limit=0", "invalid_query"),
        ("?limit=501", "invalid_query"),
        ("?status=pending", "invalid_query"),
        ("?since=yesterday", "invalid_query"),
    ] {
        let r = t.get(&format!("/commissions{q}")).await;
        assert_eq!(
            (r.status, r.body["error"].clone()),
            (400, json!(code)),
            "{q}"
        );
    }
    // a bare date is UTC midnight
    let r = t
        .get("/commissions?since=2000-01-01&until=2000-01-02")
        .await;
    assert_eq!((r.status, r.body["commissions"].clone()), (200, json!([])));
    // default limit 100
    let r = t.get("/commissions").await;
    assert_eq!(r.body["commissions"].as_array().unwrap().len(), 100);
}

#[tokio::test]
async fn commissions_auth() {
    let t = T::new().await;
    let p = t.partner("a@example.com").await;
    let q = t.partner("b@example.com").await;
    let pk = t.partner_key(&p).await;
    let read = t.scoped_key(&["commissions:read"]).await;
    let other = t.scoped_key(&["partners:read"]).await;
    assert_eq!(t.get_as(&read, "/commissions").await.status, 200);
    let r = t.get_as(&other, "/commissions").await;
    assert_eq!(
        (r.status, r.body["required"].clone()),
        (403, json!("commissions:read"))
    );
    assert_eq!(t.get_as(&pk, "/commissions").await.status, 403);
    assert_eq!(
        t.get_as(&pk, &format!("/partners/{p}/commissions"))
            .await
            .status,
        200
    );
    assert_eq!(
        t.get_as(&pk, &format!("/partners/{q}/commissions"))
            .await
            .status,
        403
    );
    assert_eq!(
        t.get_as(&read, &format!("/partners/{q}/commissions"))
            .await
            .status,
        200
    );
    assert_eq!(t.get("/partners/nope/commissions").await.status, 404);
    assert_eq!(t.post_as(&pk, "/payouts/run", json!({})).await.status, 403);
    assert_eq!(
        t.get_as(&pk, &format!("/partners/{p}/payouts"))
            .await
            .status,
        200
    );
    assert_eq!(
        t.get_as(&pk, &format!("/partners/{q}/payouts"))
            .await
            .status,
        403
    );
    assert_eq!(
        t.get_as(&pk, &format!("/partners/{p}/dashboard"))
            .await
            .status,
        200
    );
    assert_eq!(
        t.get_as(&pk, &format!("/partners/{q}/events")).await.status,
        403
    );
    assert_eq!(
        t.get_as(&other, &format!("/partners/{q}/customers"))
            .await
            .status,
        200
    );
    assert_eq!(t.get("/partners/nope/dashboard").await.status, 404);
    let r = t.get(&format!("/partners/{p}/events?limit=201")).await;
    assert_eq!(r.body["error"], "invalid_query");
    let r = t.get(&format!("/partners/{p}/customers?offset=-1")).await;
    assert_eq!(r.body["error"], "invalid_query");
    let r = t
        .get(&format!("/partners/{p}/timeseries?bucket=month"))
        .await;
    assert_eq!(r.body["error"], "invalid_query");
    let r = t
        .get(&format!(
            "/partners/{p}/timeseries?since={}&until={}",
            ts(0),
            ts(200 * DAY)
        ))
        .await;
    assert_eq!(r.body["bucket"], "week");
    assert_eq!(
        r.body["buckets"][0]["bucket"], "2025-12-29",
        "weeks start on Monday"
    );
}

#[tokio::test]
async fn no_extensions_means_no_cursor_or_filters() {
    let mut cfg = openpartner_mock::Config::for_tests(ADMIN);
    cfg.extensions = false;
    let t = T::with(cfg).await;
    seed(&t, "commissions:120");
    let r = t
        .get("/commissions?limit=10&cursor=garbage&partnerId=nope")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["commissions"].as_array().unwrap().len(), 10);
    assert!(r.body.get("nextCursor").is_none());
    let ext = r
        .headers
        .get("openpartner-extensions")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(ext.unwrap_or_default().is_empty());
    let t2 = T::new().await;
    let h = t2.get("/commissions").await;
    assert!(h.headers["openpartner-extensions"]
        .to_str()
        .unwrap()
        .contains("commission-filters"));
}

#[tokio::test]
async fn export_csv_rules_and_errors() {
    let t = T::new().await;
    let empty = t.get("/export/Payout.csv").await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.text, "");
    assert_eq!(
        empty.headers["content-disposition"],
        "attachment; filename=\"Payout.csv\""
    );
    let r = t
        .post(
            "/partners",
            json!({"email": "f@example.com", "name": "=HYPERLINK(\"x\")", "sendInvite": false,
                   "metadata": {"note": "a,b", "n": 1}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let csv = t.get("/export/Partner.csv").await;
    assert_eq!(csv.status, 200);
    assert_eq!(
        csv.headers["content-disposition"],
        "attachment; filename=\"Partner.csv\""
    );
    let lines: Vec<&str> = csv.text.split('\n').collect();
    assert_eq!(
        lines.len(),
        2,
        "LF-separated, no trailing terminator: {:?}",
        csv.text
    );
    assert_eq!(
        lines[0],
        "id,tenantId,email,name,externalId,stripeConnectAccountId,metadata,createdAt,updatedAt,activatedAt,revokedAt,revokeReason"
    );
    assert!(
        lines[1].starts_with(&format!(
            "{id},{TENANT},f@example.com,\"'=HYPERLINK(\"\"x\"\")\",,,"
        )),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains(",\"{\"\"note\"\":\"\"a,b\"\",\"\"n\"\":1}\","),
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with(",,"), "null → empty: {}", lines[1]);
    let json = t.get("/export/Partner.json").await;
    assert_eq!(json.body[0]["name"], "=HYPERLINK(\"x\")");
    assert_eq!(json.body[0]["metadata"], json!({"note": "a,b", "n": 1}));
    let e = t.get("/export/Webhook.csv").await;
    assert_eq!(
        (e.status, e.body["error"].clone()),
        (404, json!("table_not_exportable"))
    );
    let e = t.get("/export/Partner.xml").await;
    assert_eq!(
        (e.status, e.body["error"].clone()),
        (400, json!("unsupported_format"))
    );
    let e = t.get("/export/Partner").await;
    assert_eq!(
        (e.status, e.body["error"].clone()),
        (400, json!("unsupported_format"))
    );
    let pk = t.partner_key(&id).await;
    assert_eq!(t.get_as(&pk, "/export/Partner.csv").await.status, 403);
    let all = t.get("/export.json").await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["schemaVersion"], json!(2));
    assert!(all.body["exportedAt"].is_string());
    let tables: Vec<&String> = all.body["tables"].as_object().unwrap().keys().collect();
    assert_eq!(
        tables,
        [
            "Partner",
            "Program",
            "PartnerProgram",
            "Link",
            "Click",
            "Identity",
            "Event",
            "Attribution",
            "Commission",
            "Payout"
        ]
    );
    assert_eq!(all.body["tables"]["Partner"].as_array().unwrap().len(), 1);
    let _ = Method::GET;
}

#[tokio::test]
async fn export_streams_large_tables() {
    let t = T::new().await;
    seed(&t, "commissions:9001");
    let csv = t.get("/export/Commission.csv").await;
    assert_eq!(csv.status, 200);
    let lines: Vec<&str> = csv.text.split('\n').collect();
    assert_eq!(lines.len(), 9002);
    assert!(lines[0]
        .starts_with("id,tenantId,attributionId,partnerId,programId,amount,currency,status"));
    let ids: HashSet<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids.len(), 9001);
    let json = t.get("/export/Commission.json").await;
    assert_eq!(json.body.as_array().unwrap().len(), 9001);
    assert!(json.body[0]["amount"].is_string());
    let all = t.get("/export.json").await;
    assert_eq!(all.status, 200);
    assert_eq!(
        all.body["tables"]["Commission"].as_array().unwrap().len(),
        9001
    );
    assert_eq!(all.body["tables"]["Partner"].as_array().unwrap().len(), 100);
    assert_eq!(all.body["tables"]["Payout"], json!([]));
    assert_eq!(all.body["schemaVersion"], json!(2));
}

#[tokio::test]
async fn demo_seed_through_http() {
    let t = T::new().await;
    seed(&t, "demo");
    let programs = t.get("/programs").await;
    assert_eq!(programs.body["programs"].as_array().unwrap().len(), 4);
    let (paid, _) = walk(&t, "limit=500&status=paid").await;
    assert!(!paid.is_empty());
    assert!(paid
        .iter()
        .all(|c| c["payoutId"].is_string() && c["paidAt"].is_string()));
    let partner = paid[0]["partnerId"].as_str().unwrap();
    let d = t
        .get(&format!(
            "/partners/{partner}/dashboard?since={}",
            ts(-400 * DAY)
        ))
        .await;
    assert_eq!(d.status, 200);
    assert!(d.body["clicks"].as_i64().unwrap() > 0);
    assert!(d.body["commissionByStatus"]["paid"].is_number());
    let payouts = t.get(&format!("/partners/{partner}/payouts")).await;
    assert!(!payouts.body["payouts"].as_array().unwrap().is_empty());
}
