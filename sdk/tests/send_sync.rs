//! Compile-time checks: the client, errors, streams and handler futures are `Send` (so bulk
//! work can run on `tokio::spawn`) and the shared types are `Sync`.

use openpartner::types::TrackEvent;
use openpartner::{Client, Error};

fn send<T: Send>(_: &T) {}
fn send_sync_static<T: Send + Sync + 'static>() {}

#[test]
fn handler_futures_and_streams_are_send() {
    send_sync_static::<Client>();
    send_sync_static::<Error>();
    send_sync_static::<openpartner::Capabilities>();
    send_sync_static::<openpartner::RetryPolicy>();
    let c = Client::builder()
        .base_url("http://127.0.0.1:1")
        .build()
        .unwrap();
    let ev = TrackEvent::new("u", "sale");
    // Futures are created, never polled.
    send(&c.health());
    send(&c.partners().create("a@b.c", "A").send());
    send(&c.partners().get("p1"));
    send(&c.partners().list().send());
    send(&c.partners().list().stream());
    send(&c.events().track(&ev).send());
    send(&c.identify("c", "u"));
    send(&c.commissions().list().stream());
    send(&c.commissions().list().send());
    send(&c.commissions().list_for_partner("p").stream());
    send(&c.commissions().list_for_partner("p").send());
    send(&c.payouts().run());
    send(&c.api_keys().create().send());
    send(&c.raw(http::Method::GET, "/x", None));
    send(&c.export_stream("Commission", "csv"));
    send(&c.partners().events("p").stream());
    send(&c.refresh_capabilities());
}
