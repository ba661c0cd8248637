//! The commands whose routes the reference server does not serve, against wiremock:
//! `webhooks …` and `partners postbacks …` (API.md §3.6); and `platform …` (API.md §5),
//! which it serves (end to end in `tests/tests/platform.rs`), for the exact requests. Each
//! command sends exactly the contract's request and prints the answer; any request no mock
//! expects fails the test (a catch-all mock expecting none).

use std::path::Path;

use assert_cmd::Command;
use serde_json::{json, Value};
use wiremock::matchers::{any, body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ADMIN_KEY: &str = "op_0123456789abcdef0123456789abcdef0123456789abcdef";

fn cli(config_dir: &Path, server: &MockServer) -> Command {
    let mut cmd = Command::cargo_bin("openpartner").expect("binary built");
    for var in [
        "OPENPARTNER_TENANT",
        "OPENPARTNER_PROFILE",
        "NO_COLOR",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("OPENPARTNER_CONFIG_DIR", config_dir)
        .env("CI", "1")
        .env("OPENPARTNER_API_KEY", ADMIN_KEY)
        .env("OPENPARTNER_BASE_URL", server.uri())
        .timeout(std::time::Duration::from_secs(60));
    cmd
}

/// [`cli`] with a platform key in `OPENPARTNER_PLATFORM_KEY` (the `platform …` commands
/// never use the admin credential).
fn platform_cli(config_dir: &Path, server: &MockServer) -> Command {
    let mut cmd = cli(config_dir, server);
    cmd.env("OPENPARTNER_PLATFORM_KEY", "platform-key");
    cmd
}

/// A mock server whose lowest-priority mock answers 599 and expects no call.
async fn strict_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(599))
        .with_priority(u8::MAX)
        .expect(0)
        .named("unexpected request: no mock of this test matches it")
        .mount(&server)
        .await;
    server
}

async fn expect_once(server: &MockServer, m: Mock) {
    m.expect(1).mount(server).await;
}

fn endpoint(label: &str, events: Value, active: bool) -> Value {
    json!({"id": "wh1", "tenantId": "t", "url": "https://ops.example.com/hook",
        "secretPrefix": "whsec_abc", "events": events, "active": active, "label": label,
        "createdAt": "2026-11-20T10:30:00.000Z", "lastUsedAt": null})
}

fn delivery(id: &str, kind: &str) -> Value {
    json!({"id": id, "endpointId": "wh1", "eventId": "evt_1", "eventType": kind,
        "payload": "{}", "status": "failed", "httpStatus": 500, "error": null, "attempts": 1,
        "createdAt": "2026-11-20T10:30:00.000Z", "deliveredAt": null,
        "lastAttemptAt": "2026-11-20T10:30:01.000Z"})
}

fn run_json(cmd: &mut Command) -> Value {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_endpoint_commands_send_the_contracts_requests() {
    let server = strict_server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    expect_once(
        &server,
        Mock::given(method("POST"))
            .and(path("/webhooks"))
            .and(body_json(json!({"url": "https://ops.example.com/hook",
                "events": ["commission.accrued", "partner.created"], "label": "ops"})))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "endpoint": endpoint("ops", json!(["commission.accrued", "partner.created"]), true),
                "secret": "whsec_abcdefghijklmnopqrstuvwxyz012345"}))),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("GET"))
            .and(path("/webhooks"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"endpoints": [endpoint("ops", json!(["*"]), true)]})),
            ),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("PATCH"))
            .and(path("/webhooks/wh1"))
            .and(body_json(
                json!({"label": "ops-2", "events": ["*"], "active": false}),
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"endpoint": endpoint("ops-2", json!(["*"]), false)})),
            ),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("DELETE"))
            .and(path("/webhooks/wh1"))
            .and(query_param("hard", "1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true}))),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("GET"))
            .and(path("/webhooks/wh1/deliveries"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"deliveries": [delivery("d1", "commission.accrued")]})),
            ),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("POST"))
            .and(path("/webhooks/wh1/deliveries/d1/retry"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"delivery": delivery("d2", "commission.accrued")})),
            ),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("POST"))
            .and(path("/webhooks/wh1/test"))
            .and(query_param("event", "partner.created"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "delivery": delivery("d3", "partner.created"), "event": {"id": "evt_t"}}))),
    )
    .await;

    let created = run_json(cli(dir.path(), &server).args([
        "webhooks",
        "create",
        "--url",
        "https://ops.example.com/hook",
        "--event",
        "commission.accrued,partner.created",
        "--label",
        "ops",
        "-o",
        "json",
    ]));
    assert_eq!(created["id"], "wh1");
    assert_eq!(created["secret"], "whsec_abcdefghijklmnopqrstuvwxyz012345");
    let list = run_json(cli(dir.path(), &server).args(["webhooks", "list", "-o", "json"]));
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let updated = run_json(cli(dir.path(), &server).args([
        "webhooks",
        "update",
        "wh1",
        "--label",
        "ops-2",
        "--event",
        "*",
        "--deactivate",
        "-o",
        "json",
    ]));
    assert_eq!(updated["active"], false);
    cli(dir.path(), &server)
        .args(["webhooks", "delete", "wh1", "--hard"])
        .assert()
        .success();
    let out = cli(dir.path(), &server)
        .args(["webhooks", "deliveries", "wh1", "-o", "csv"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).expect("utf8");
    assert_eq!(
        csv.lines().next(),
        Some("id,eventType,status,httpStatus,attempts,createdAt,deliveredAt,lastAttemptAt,error,eventId,endpointId,payload")
    );
    assert_eq!(csv.lines().count(), 2);
    let retried =
        run_json(cli(dir.path(), &server).args(["webhooks", "retry", "wh1", "d1", "-o", "json"]));
    assert_eq!(retried["id"], "d2");
    let test = run_json(cli(dir.path(), &server).args([
        "webhooks",
        "test",
        "wh1",
        "--event",
        "partner.created",
        "-o",
        "json",
    ]));
    assert_eq!(test["delivery"]["id"], "d3");
    // Flags that conflict never reach the server.
    cli(dir.path(), &server)
        .args(["webhooks", "update", "wh1", "--activate", "--deactivate"])
        .assert()
        .code(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postback_commands_act_on_the_named_partner() {
    let server = strict_server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    Mock::given(method("GET"))
        .and(path("/auth/introspect"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"role": "admin", "unrestricted": true})),
        )
        .mount(&server)
        .await;
    let pb = |enabled: bool| {
        json!({"id": "pb1", "partnerId": "p1", "url": "https://partner.example.net/pb?c={commissionId}",
            "events": ["commission.accrued"], "enabled": enabled,
            "createdAt": "2026-11-20T10:30:00.000Z"})
    };
    expect_once(
        &server,
        Mock::given(method("POST"))
            .and(path("/partners/p1/postbacks"))
            .and(body_json(
                json!({"url": "https://partner.example.net/pb?c={commissionId}",
                "events": ["commission.accrued"], "enabled": false}),
            ))
            .respond_with(ResponseTemplate::new(201).set_body_json(pb(false))),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("GET"))
            .and(path("/partners/p1/postbacks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "postbacks": [pb(false)], "supportedEvents": ["commission.accrued"]}))),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("PATCH"))
            .and(path("/partners/p1/postbacks/pb1"))
            .and(body_json(json!({"enabled": true})))
            .respond_with(ResponseTemplate::new(200).set_body_json(pb(true))),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("DELETE"))
            .and(path("/partners/p1/postbacks/pb1"))
            .respond_with(ResponseTemplate::new(204)),
    )
    .await;

    let created = run_json(cli(dir.path(), &server).args([
        "partners",
        "postbacks",
        "create",
        "--partner",
        "p1",
        "--url",
        "https://partner.example.net/pb?c={commissionId}",
        "--event",
        "commission.accrued",
        "--disabled",
        "-o",
        "json",
    ]));
    assert_eq!(created["enabled"], false);
    let out = cli(dir.path(), &server)
        .args([
            "partners",
            "postbacks",
            "list",
            "--partner",
            "p1",
            "-o",
            "json",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Supported events: commission.accrued."));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(rows[0]["id"], "pb1");
    let upd = run_json(cli(dir.path(), &server).args([
        "partners",
        "postbacks",
        "update",
        "pb1",
        "--partner",
        "p1",
        "--enabled",
        "true",
        "-o",
        "json",
    ]));
    assert_eq!(upd["enabled"], true);
    cli(dir.path(), &server)
        .args(["partners", "postbacks", "delete", "pb1", "--partner", "p1"])
        .assert()
        .success();
    // An admin must name the partner; an update needs a field. Neither reaches a postback
    // route.
    cli(dir.path(), &server)
        .args(["partners", "postbacks", "list"])
        .assert()
        .code(2);
    cli(dir.path(), &server)
        .args(["partners", "postbacks", "update", "pb1", "--partner", "p1"])
        .assert()
        .code(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_commands_provision_tenants() {
    let server = strict_server().await;
    let dir = tempfile::tempdir().expect("tempdir");
    Mock::given(method("GET"))
        .and(path("/health"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("openpartner-extensions", "platform,login-links")
                .set_body_json(json!({"ok": true, "service": "api", "mode": "hosted"})),
        )
        .mount(&server)
        .await;
    let tenant = json!({"id": "ten1", "slug": "acme", "displayName": "Acme",
        "externalId": "crm-acme", "createdAt": "2026-11-20T10:30:00.000Z"});
    expect_once(
        &server,
        Mock::given(method("POST"))
            .and(path("/platform/tenants"))
            .and(body_json(
                json!({"slug": "acme", "displayName": "Acme", "externalId": "crm-acme"}),
            ))
            .respond_with(ResponseTemplate::new(201).set_body_json(tenant.clone())),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("GET"))
            .and(path("/platform/tenants"))
            .and(query_param("limit", "10"))
            .and(query_param("offset", "0"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"tenants": [tenant.clone()], "total": 1, "limit": 10, "offset": 0}),
            )),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("GET"))
            .and(path("/platform/tenants/by-external-id/crm-acme"))
            .respond_with(ResponseTemplate::new(200).set_body_json(tenant.clone())),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("POST"))
            .and(path("/platform/tenants/ten1/api-keys"))
            .and(body_json(json!({"label": "bootstrap"})))
            .respond_with(ResponseTemplate::new(201).set_body_json(
                json!({"id": "key1", "plaintext": "op_tenantadminkey000000000000000000000000000000000"}),
            )),
    )
    .await;
    expect_once(
        &server,
        Mock::given(method("POST"))
            .and(path("/platform/tenants/ten1/login-links"))
            .and(body_json(json!({"email": "owner@acme.example"})))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "url": "https://portal.example/t/acme/auth/magic?token=opml_x",
                "expiresAt": "2026-11-20T10:45:00.000Z"}))),
    )
    .await;

    let t = run_json(platform_cli(dir.path(), &server).args([
        "platform",
        "tenants",
        "create",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--external-id",
        "crm-acme",
        "-o",
        "json",
    ]));
    assert_eq!(t["id"], "ten1");
    let out = platform_cli(dir.path(), &server)
        .args([
            "platform", "tenants", "list", "--limit", "10", "--offset", "0", "-o", "csv",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).expect("utf8"),
        "id,slug,displayName,externalId,createdAt\nten1,acme,Acme,crm-acme,2026-11-20T10:30:00.000Z\n"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Tenants 1-1 of 1."));
    let t = run_json(platform_cli(dir.path(), &server).args([
        "platform",
        "tenants",
        "get",
        "--external-id",
        "crm-acme",
        "-o",
        "json",
    ]));
    assert_eq!(t["slug"], "acme");
    let k = run_json(platform_cli(dir.path(), &server).args([
        "platform",
        "admin-keys",
        "create",
        "ten1",
        "--label",
        "bootstrap",
        "-o",
        "json",
    ]));
    assert_eq!(
        k["plaintext"],
        "op_tenantadminkey000000000000000000000000000000000"
    );
    let l = run_json(platform_cli(dir.path(), &server).args([
        "platform",
        "login-link",
        "ten1",
        "--email",
        "owner@acme.example",
        "-o",
        "json",
    ]));
    assert!(l["url"]
        .as_str()
        .is_some_and(|u| u.contains("token=opml_x")));
    // Platform routes have no tenant: --tenant is refused before any request.
    platform_cli(dir.path(), &server)
        .args(["--tenant", "acme", "platform", "tenants", "list"])
        .assert()
        .code(2);
}
