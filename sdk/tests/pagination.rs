//! Cursor pagination against wiremock: exact cursor sequence, filters on every page, limits.

mod common;

use common::*;
use futures::TryStreamExt;
use serde_json::json;
use wiremock::matchers::query_param;
use wiremock::MockServer;

async fn three_pages(server: &MockServer) {
    // Page 1: no cursor. Page 2: cursor c1. Page 3: cursor c2, nextCursor null.
    route("GET", "/t/acme/partners")
        .and(query_param("cursor", "c2"))
        .respond_with(echo(
            200,
            json!({"partners":[partner_json("p5","e@x.io")],"nextCursor":null}),
        ))
        .with_priority(1)
        .mount(server)
        .await;
    route("GET", "/t/acme/partners").and(query_param("cursor", "c1")).respond_with(echo(200, json!({"partners":[partner_json("p3","c@x.io"),partner_json("p4","d@x.io")],"nextCursor":"c2"}))).with_priority(1).mount(server).await;
    route("GET", "/t/acme/partners").respond_with(echo(200, json!({"partners":[partner_json("p1","a@x.io"),partner_json("p2","b@x.io")],"nextCursor":"c1"}))).with_priority(5).mount(server).await;
}

fn query_of(r: &wiremock::Request) -> Vec<(String, String)> {
    r.url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn stream_walks_exact_cursor_sequence_keeping_filters() {
    let server = common::server().await;
    three_pages(&server).await;
    let c = tenant_client(&server, "acme");
    let all: Vec<_> = c
        .partners()
        .list()
        .email("A@x.io")
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p1", "p2", "p3", "p4", "p5"]);
    let reqs = requests(&server).await;
    assert_eq!(reqs.len(), 3);
    let q: Vec<_> = reqs.iter().map(query_of).collect();
    let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(q[0], vec![kv("email", "A@x.io"), kv("limit", "2")]);
    assert_eq!(
        q[1],
        vec![kv("email", "A@x.io"), kv("limit", "2"), kv("cursor", "c1")]
    );
    assert_eq!(
        q[2],
        vec![kv("email", "A@x.io"), kv("limit", "2"), kv("cursor", "c2")]
    );
    // One request id per page (each page is its own logical request).
    assert_ne!(
        header(&reqs[0], "x-request-id"),
        header(&reqs[1], "x-request-id")
    );
}

#[tokio::test]
async fn limit_stops_without_fetching_more_pages() {
    let server = common::server().await;
    three_pages(&server).await;
    let c = tenant_client(&server, "acme");
    let some: Vec<_> = c
        .partners()
        .list()
        .page_size(2)
        .limit(3)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        some.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["p1", "p2", "p3"]
    );
    assert_eq!(requests(&server).await.len(), 2);

    let server = common::server().await;
    three_pages(&server).await;
    let c = tenant_client(&server, "acme");
    let two: Vec<_> = c
        .partners()
        .list()
        .page_size(2)
        .limit(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn pages_and_single_page() {
    let server = common::server().await;
    three_pages(&server).await;
    let c = tenant_client(&server, "acme");
    let pages: Vec<_> = c.partners().list().pages().try_collect().await.unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].next_cursor.as_deref(), Some("c1"));
    assert_eq!(pages[2].next_cursor, None);
    let one = c.partners().list().cursor("c1").send().await.unwrap();
    assert_eq!(one.items.len(), 2);
    assert_eq!(one.next_cursor.as_deref(), Some("c2"));
    let reqs = requests(&server).await;
    assert_eq!(
        query_of(&reqs[3]),
        vec![("cursor".to_string(), "c1".to_string())]
    );
}

#[tokio::test]
async fn absent_next_cursor_ends_the_stream() {
    let server = common::server().await;
    mount(
        &server,
        "GET",
        "/partners",
        echo(200, json!({"partners":[partner_json("p1","a@x.io")]})),
    )
    .await;
    let all: Vec<_> = client(&server)
        .partners()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn errors_end_the_stream() {
    let server = common::server().await;
    mount(
        &server,
        "GET",
        "/partners",
        echo(400, json!({"error":"invalid_cursor"})),
    )
    .await;
    let res: Result<Vec<_>, _> = client(&server)
        .partners()
        .list()
        .cursor("bad")
        .stream()
        .try_collect()
        .await;
    assert_eq!(res.unwrap_err().code(), Some("invalid_cursor"));
}
