//! `client.commissions().list_for_partner(id)`: `GET /partners/:id/commissions` against
//! wiremock, with the `commission-filters` extension (filters and cursor on the wire) and
//! without it (API.md §6: one page, client-side filters, `until` exclusive, truncated flag).

mod common;

use common::*;
use futures::TryStreamExt;
use openpartner::types::CommissionStatus;
use openpartner::Error;
use serde_json::json;
use wiremock::matchers::query_param;
use wiremock::MockServer;

const EXT: &str = "commission-filters, idempotency";

/// A 12.50 USD row of partner `p1`.
fn commission_json(id: &str, accrued: &str, program: &str) -> serde_json::Value {
    commission_row(id, accrued, program, "p1", "12.50")
}

fn ids(rows: &[openpartner::types::Commission]) -> Vec<&str> {
    rows.iter().map(|c| c.id.as_str()).collect()
}

async fn health(server: &MockServer, ext: Option<&'static str>) {
    let body = json!({"ok":true,"service":"api","mode":"selfhost"});
    let r = match ext {
        Some(e) => echo_ext(200, body, e),
        None => echo(200, body),
    };
    mount_expect(server, "GET", "/health", 1, r).await;
}

/// The top-level route must never be called by a partner listing.
async fn forbid_top_level(server: &MockServer) {
    mount_expect(
        server,
        "GET",
        "/commissions",
        0,
        echo(403, json!({"error":"forbidden"})),
    )
    .await;
}

#[tokio::test]
async fn extension_sends_filters_and_follows_cursors_on_the_partner_route() {
    let server = common::server().await;
    health(&server, Some(EXT)).await;
    forbid_top_level(&server).await;
    route("GET", "/partners/p1/commissions").and(query_param("cursor", "n2")).respond_with(echo_ext(
            200,
            json!({"commissions":[commission_json("m5","2026-11-05T00:00:00.000Z","g1")],"nextCursor":null}),
            EXT,
        )).with_priority(1).mount(&server).await;
    route("GET", "/partners/p1/commissions").and(query_param("cursor", "n1")).respond_with(echo_ext(
            200,
            json!({"commissions":[commission_json("m3","2026-11-18T00:00:00.000Z","g1"),
                                  commission_json("m4","2026-11-10T00:00:00.000Z","g1")],"nextCursor":"n2"}),
            EXT,
        )).with_priority(1).mount(&server).await;
    route("GET", "/partners/p1/commissions").respond_with(echo_ext(
            200,
            json!({"commissions":[commission_json("m1","2026-11-20T00:00:00.000Z","g1"),
                                  commission_json("m2","2026-11-19T00:00:00.000Z","g1")],"nextCursor":"n1"}),
            EXT,
        )).with_priority(5).mount(&server).await;
    let c = client(&server);
    let mut s = c
        .commissions()
        .list_for_partner("p1")
        .status(CommissionStatus::Accrued)
        .since("2026-11-01T00:00:00Z".parse().unwrap())
        .until("2026-11-30T00:00:00Z".parse().unwrap())
        .program_id("g1")
        .page_size(2)
        .stream();
    let mut got = Vec::new();
    while let Some(cm) = s.try_next().await.unwrap() {
        got.push(cm);
    }
    assert_eq!(ids(&got), ["m1", "m2", "m3", "m4", "m5"]);
    assert!(!s.possibly_truncated());
    assert_eq!(got[0].amount.to_string(), "12.50");
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 4, "health + 3 pages");
    let q1 = "status=accrued&limit=2&since=2026-11-01T00%3A00%3A00.000Z&until=2026-11-30T00%3A00%3A00.000Z&programId=g1";
    let queries: Vec<_> = reqs[1..].iter().map(|r| r.url.query()).collect();
    assert_eq!(
        queries,
        [
            Some(q1.to_string()),
            Some(format!("{q1}&cursor=n1")),
            Some(format!("{q1}&cursor=n2")),
        ]
        .iter()
        .map(|q| q.as_deref())
        .collect::<Vec<_>>(),
        "filters on every page, exact cursor sequence, never partnerId"
    );
    assert!(reqs[1..]
        .iter()
        .all(|r| r.url.path() == "/partners/p1/commissions"));
}

#[tokio::test]
async fn extension_pages_limit_start_cursor_and_path_encoding() {
    let server = common::server().await;
    health(&server, Some(EXT)).await;
    forbid_top_level(&server).await;
    mount(&server, "GET", "/partners/p%2F1/commissions", echo_ext(
            200,
            json!({"commissions":[commission_json("m7","2026-11-02T00:00:00.000Z","g1"),
                                  commission_json("m8","2026-11-01T00:00:00.000Z","g2")],"nextCursor":"n9"}),
            EXT,
        )).await;
    let c = client(&server);
    // `.cursor()` starts there; `.partner_id()` replaces the partner in the path.
    let pages: Vec<_> = c
        .commissions()
        .list_for_partner("someone-else")
        .partner_id("p/1")
        .cursor("start")
        .limit(2)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1, "the limit is reached on the first page");
    assert_eq!(ids(&pages[0].items), ["m7", "m8"]);
    assert_eq!(pages[0].next_cursor.as_deref(), Some("n9"));
    assert!(!pages[0].possibly_truncated);
    let page = c
        .commissions()
        .list_for_partner("p/1")
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(ids(&page.items), ["m7"]);
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 3, "health + one page per listing");
    assert_eq!(reqs[1].url.query(), Some("cursor=start"));
    assert_eq!(reqs[2].url.query(), None);
}

#[tokio::test]
async fn fallback_filters_client_side_with_exclusive_until_and_flags_a_full_page() {
    let server = common::server().await;
    health(&server, None).await;
    forbid_top_level(&server).await;
    mount(
        &server,
        "GET",
        "/partners/p1/commissions",
        echo(
            200,
            json!({"commissions":[
                commission_json("at-until","2026-11-20T00:00:00.000Z","g1"),
                commission_json("inside","2026-11-19T23:59:59.999Z","g1"),
                commission_json("other-program","2026-11-15T00:00:00.000Z","g2"),
                commission_json("at-since","2026-11-01T00:00:00.000Z","g1"),
                commission_json("before","2026-10-31T23:59:59.999Z","g1")]}),
        ),
    )
    .await;
    let c = client(&server);
    let list = || {
        c.commissions()
            .list_for_partner("p1")
            .status("accrued")
            .since("2026-11-01T00:00:00Z".parse().unwrap())
            .until("2026-11-20T00:00:00Z".parse().unwrap())
            .program_id("g1")
    };
    // Page size 5, 5 rows back: full, so older rows may exist.
    let mut s = list().page_size(5).stream();
    let mut got = Vec::new();
    while let Some(cm) = s.try_next().await.unwrap() {
        got.push(cm);
    }
    assert_eq!(
        ids(&got),
        ["inside", "at-since"],
        "since inclusive, until exclusive, programId applied client-side"
    );
    assert!(s.possibly_truncated(), "5 of 5: the single page was full");
    // Page size 6: the page is short, so it is complete; pages() yields exactly one page.
    let pages: Vec<_> = list().page_size(6).pages().try_collect().await.unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(ids(&pages[0].items), ["inside", "at-since"]);
    assert!(!pages[0].possibly_truncated);
    assert_eq!(pages[0].next_cursor, None);
    // The server default page size (100) is what "full" is measured against.
    let page = list().send().await.unwrap();
    assert!(!page.possibly_truncated);
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 4, "one /health, then one request per listing");
    assert_eq!(
        reqs[1..].iter().map(|r| r.url.query()).collect::<Vec<_>>(),
        [
            Some("status=accrued&limit=5"),
            Some("status=accrued&limit=6"),
            Some("status=accrued")
        ],
        "without the extension only status and limit are sent"
    );
}

#[tokio::test]
async fn errors_surface_as_api_errors() {
    let server = common::server().await;
    health(&server, Some(EXT)).await;
    mount(
        &server,
        "GET",
        "/partners/p2/commissions",
        echo_ext(403, json!({"error":"forbidden"}), EXT),
    )
    .await;
    let c = client(&server);
    let err = c
        .commissions()
        .list_for_partner("p2")
        .stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    match err {
        Error::Api { status, code, .. } => {
            assert_eq!(status, 403);
            assert_eq!(code, "forbidden");
        }
        other => panic!("unexpected error {other:?}"),
    }
}
