//! Webhook endpoint management, partner postbacks and platform tenants against wiremock.

mod common;

use common::*;
use openpartner::types::*;
use openpartner::{Client, Credentials, Error};
use serde_json::json;
use wiremock::ResponseTemplate;

fn endpoint_json() -> serde_json::Value {
    json!({"id":"w1","tenantId":"t","url":"https://hooks.example/x","secretPrefix":"whsec_ab","events":["commission.accrued"],
        "active":true,"label":"crm","createdAt":"2026-11-20T10:30:00.000Z","lastUsedAt":null})
}

fn delivery_json() -> serde_json::Value {
    json!({"id":"d1","endpointId":"w1","eventId":"evt_1","eventType":"webhook.test","payload":"{\"id\":\"evt_1\"}",
        "status":"pending","httpStatus":null,"error":null,"attempts":1,"createdAt":"2026-11-20T10:30:00.000Z",
        "deliveredAt":null,"lastAttemptAt":"2026-11-20T10:30:00.000Z","nextAttemptAt":"2026-11-20T10:30:30.000Z"})
}

#[tokio::test]
async fn webhook_endpoints() {
    let server = common::server().await;
    let secret = "whsec_abcdefghijklmnopqrstuvwxyz012345";
    mount(
        &server,
        "POST",
        "/webhooks",
        echo(201, json!({"endpoint":endpoint_json(),"secret":secret})),
    )
    .await;
    mount(
        &server,
        "GET",
        "/webhooks",
        echo(200, json!({"endpoints":[endpoint_json()]})),
    )
    .await;
    mount(
        &server,
        "GET",
        "/webhooks/w1",
        echo(200, json!({"endpoint":endpoint_json()})),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/webhooks/w1",
        echo(200, json!({"endpoint":endpoint_json()})),
    )
    .await;
    mount(
        &server,
        "DELETE",
        "/webhooks/w1",
        echo(200, json!({"ok":true})),
    )
    .await;
    mount(
        &server,
        "GET",
        "/webhooks/w1/deliveries",
        echo(200, json!({"deliveries":[delivery_json()]})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/webhooks/w1/deliveries/d1/retry",
        echo(200, json!({"delivery":delivery_json()})),
    )
    .await;
    mount(&server, "POST", "/webhooks/w1/test", echo(200, json!({"delivery":delivery_json(),"event":{"id":"evt_1","event":"commission.paid","data":{"_synthetic":true}}}))).await;
    let c = client(&server);
    let created = c
        .webhooks()
        .create("https://hooks.example/x", vec!["commission.accrued".into()])
        .label("crm")
        .send()
        .await
        .unwrap();
    assert_eq!(created.secret.expose(), secret);
    assert!(!format!("{created:?}").contains("ghijklmnop"));
    assert_eq!(c.webhooks().list().await.unwrap()[0].id, "w1");
    assert!(c.webhooks().get("w1").await.unwrap().active);
    c.webhooks()
        .update("w1")
        .active(false)
        .label("x")
        .send()
        .await
        .unwrap();
    c.webhooks().delete("w1", true).await.unwrap();
    let d = c.webhooks().deliveries("w1").await.unwrap();
    assert_eq!(d[0].status, DeliveryStatus::Pending);
    assert!(d[0].next_attempt_at.is_some());
    assert_eq!(
        c.webhooks()
            .retry_delivery("w1", "d1")
            .await
            .unwrap()
            .attempts,
        1
    );
    let t = c
        .webhooks()
        .test("w1", Some("commission.paid"))
        .await
        .unwrap();
    assert_eq!(t.event["data"]["_synthetic"], true);
    let reqs = requests(&server).await;
    assert_eq!(
        body_json(&reqs[0]),
        json!({"url":"https://hooks.example/x","events":["commission.accrued"],"label":"crm"})
    );
    assert_eq!(body_json(&reqs[3]), json!({"active":false,"label":"x"}));
    assert_eq!(reqs[4].url.query(), Some("hard=1"));
    assert_eq!(reqs[7].url.query(), Some("event=commission.paid"));
}

#[tokio::test]
async fn partner_postbacks() {
    let server = common::server().await;
    let row = json!({"id":"pb1","partnerId":"p1","url":"https://t.example/?c={click_id}","events":["commission.accrued"],"enabled":true,"createdAt":"2026-11-20T10:30:00.000Z"});
    mount(&server, "GET", "/partners/p1/postbacks", echo(200, json!({"postbacks":[row.clone()],"supportedEvents":["commission.accrued","commission.paid"]}))).await;
    mount(
        &server,
        "POST",
        "/partners/p1/postbacks",
        echo(201, row.clone()),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/partners/p1/postbacks/pb1",
        echo(200, row),
    )
    .await;
    mount(
        &server,
        "DELETE",
        "/partners/p1/postbacks/pb1",
        ResponseTemplate::new(204),
    )
    .await;
    let c = client(&server);
    let list = c.partners().postbacks("p1").await.unwrap();
    assert_eq!(list.supported_events.len(), 2);
    c.partners()
        .create_postback(
            "p1",
            "https://t.example/?c={click_id}",
            vec!["commission.accrued".into()],
            None,
        )
        .await
        .unwrap();
    c.partners()
        .update_postback("p1", "pb1", None, None, Some(false))
        .await
        .unwrap();
    c.partners().delete_postback("p1", "pb1").await.unwrap();
    let reqs = requests(&server).await;
    assert_eq!(
        body_json(&reqs[1]),
        json!({"url":"https://t.example/?c={click_id}","events":["commission.accrued"]})
    );
    assert_eq!(body_json(&reqs[2]), json!({"enabled":false}));
}

#[tokio::test]
async fn platform_tenants_without_prefix() {
    let server = common::server().await;
    let ext = "platform";
    let tenant = json!({"id":"t1","slug":"acme","displayName":"Acme","externalId":"r-1","createdAt":"2026-11-20T10:30:00.000Z"});
    mount(
        &server,
        "GET",
        "/health",
        echo_ext(200, json!({"ok":true}), ext),
    )
    .await;
    mount(
        &server,
        "POST",
        "/platform/tenants",
        echo_ext(201, tenant.clone(), ext),
    )
    .await;
    mount(
        &server,
        "GET",
        "/platform/tenants",
        echo_ext(
            200,
            json!({"tenants":[tenant.clone()],"total":1,"limit":10,"offset":0}),
            ext,
        ),
    )
    .await;
    mount(
        &server,
        "GET",
        "/platform/tenants/by-external-id/r-1",
        echo_ext(200, tenant, ext),
    )
    .await;
    mount(
        &server,
        "POST",
        "/platform/tenants/t1/api-keys",
        echo_ext(
            201,
            json!({"id":"k","plaintext":"op_00112233445566778899aabbccddeeff0011223344556677"}),
            ext,
        ),
    )
    .await;
    mount(&server, "POST", "/platform/tenants/t1/login-links", echo_ext(201, json!({"url":"http://x/t/acme/auth/magic?token=opml_x","expiresAt":"2026-11-20T10:45:00.000Z"}), ext)).await;
    // A tenant is configured, yet /platform/* goes without the prefix.
    let c = Client::builder()
        .base_url(server.uri())
        .tenant("other")
        .credentials(Credentials::api_key("platform-key"))
        .retry(fast_retry())
        .build()
        .unwrap();
    let t = c
        .platform()
        .create_tenant("acme", "Acme", Some("r-1".into()))
        .await
        .unwrap();
    assert_eq!(t.slug, "acme");
    let page = c.platform().list_tenants(Some(10), None).await.unwrap();
    assert_eq!(page.total, Some(1));
    assert_eq!(page.page.items.len(), 1);
    assert_eq!(
        c.platform().tenant_by_external_id("r-1").await.unwrap().id,
        "t1"
    );
    let k = c
        .platform()
        .create_admin_key("t1", Some("bootstrap".into()))
        .await
        .unwrap();
    assert!(k.plaintext.expose().starts_with("op_"));
    c.platform().login_link("t1", "root@acme.io").await.unwrap();
    let reqs = requests(&server).await;
    assert_eq!(reqs[0].url.path(), "/health");
    assert_eq!(
        body_json(&reqs[1]),
        json!({"slug":"acme","displayName":"Acme","externalId":"r-1"})
    );
    assert_eq!(reqs[2].url.query(), Some("limit=10"));
    assert_eq!(body_json(&reqs[4]), json!({"label":"bootstrap"}));
    assert_eq!(body_json(&reqs[5]), json!({"email":"root@acme.io"}));

    let server = common::server().await;
    mount(&server, "GET", "/health", echo(200, json!({"ok":true}))).await;
    let err = client(&server)
        .platform()
        .list_tenants(None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }));
}
