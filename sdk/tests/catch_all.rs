//! The catch-all mock of `common::server()` makes a wiremock test fail on any request no
//! mock of the test expects (octocrab's `tests/mock_error.rs` pattern).

mod common;

use common::{client, UNEXPECTED_STATUS};

/// An unmocked request is answered 599 (an API error for the caller) and the server's
/// verification fails when it drops, naming the catch-all mock.
#[tokio::test]
#[should_panic(expected = "unexpected request")]
async fn an_unexpected_request_fails_the_test() {
    let server = common::server().await;
    let err = client(&server)
        .partners()
        .get("p_nobody_mocked_this")
        .await
        .expect_err("no mock answers GET /partners/:id");
    assert_eq!(err.status(), Some(UNEXPECTED_STATUS));
    drop(server);
}

/// With a matching mock the catch-all stays silent: the test passes.
#[tokio::test]
async fn expected_requests_do_not_trip_the_catch_all() {
    let server = common::server().await;
    common::mount_expect(
        &server,
        "GET",
        "/partners/p1",
        1,
        common::echo(200, common::partner_json("p1", "ada@example.com")),
    )
    .await;
    let p = client(&server).partners().get("p1").await.expect("mocked");
    assert_eq!(p.id, "p1");
}
