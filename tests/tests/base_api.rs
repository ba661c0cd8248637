//! What API.md §6 promises of the SDK against a real server, asserted in whichever mode the
//! suite runs: extensions on (the default), or the base API (`OPENPARTNER_E2E_NO_EXTENSIONS=1`,
//! as `scripts/check.sh` runs this crate a second time). Each test states both outcomes.

use openpartner::types::TrackEvent;
use openpartner::ExportTable;
use openpartner_e2e::{base_api_mode, Env};
use openpartner_mock::config::TestHooks;
use rust_decimal::Decimal;

/// The server commits an event, then drops the connection instead of answering (a crash
/// between commit and response). With `idempotency` the SDK resends the POST with the same
/// key and gets the stored answer (replayed); without it the SDK must not resend a request
/// that may have reached the server — the call fails and the event exists once, never twice.
#[test]
fn a_post_whose_answer_was_lost_is_resent_only_with_idempotency() {
    let hooks = TestHooks::default();
    let env = Env::start_with(|c| c.hooks = hooks.clone());
    let client = env.client();
    let caps = env
        .block_on(client.refresh_capabilities())
        .expect("capabilities");
    assert_eq!(
        caps.has(openpartner::Extension::Idempotency),
        !base_api_mode()
    );
    hooks.drop_after_commit(1);
    let event = TrackEvent::new("u-lost", "sale").value(Decimal::new(1234, 2));
    let result = env.block_on(client.events().track(&event).send());
    let events = env
        .block_on(client.export_json(ExportTable::Event))
        .expect("export");
    assert_eq!(events.len(), 1, "the event is stored once: {events:?}");
    if base_api_mode() {
        let e = result.expect_err("no blind resend without idempotency");
        assert_eq!(e.status(), None, "a transport error, not an answer: {e:?}");
    } else {
        let r = result.expect("resent with the same key");
        assert!(r.meta.replayed, "the resend is answered from the store");
        assert_eq!(r.data.event_id, events[0]["id"].as_str().expect("id"));
    }
}

/// An IP allowlist on a new key: sent with `ip-allowlist`, refused before sending without
/// it (`Error::Unsupported`, no key created).
#[test]
fn an_ip_allowlist_needs_the_extension_and_fails_before_sending() {
    let env = Env::start();
    let client = env.client();
    let result = env.block_on(
        client
            .api_keys()
            .create_scoped(vec!["events:write".into()])
            .allowed_ips(vec!["10.0.0.0/8".into()])
            .send(),
    );
    let keys = env
        .block_on(client.api_keys().list().send())
        .expect("list keys");
    if base_api_mode() {
        let e = result.expect_err("ip-allowlist is unsupported");
        assert!(
            matches!(&e, openpartner::Error::Unsupported { feature } if feature == "ip-allowlist"),
            "{e:?}"
        );
        assert!(keys.is_empty(), "nothing was sent: {keys:?}");
    } else {
        let key = result.expect("created");
        assert_eq!(
            key.allowed_ips.as_deref(),
            Some(&["10.0.0.0/8".to_string()][..])
        );
        assert_eq!(keys.len(), 1);
    }
}
