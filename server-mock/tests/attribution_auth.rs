//! The auth matrix of the attribution routes (DESIGN.md §6): every route × admin /
//! scoped-with / scoped-without / partner-self / partner-other / none, plus other-tenant
//! credentials in multi mode.

mod attribution_support;

use attribution_support::{ts, ADMIN, T};
use reqwest::Method;
use serde_json::{json, Value};

/// Who may call a route.
#[derive(Clone, Copy)]
struct Who {
    /// The scope that grants it, if any.
    scope: Option<&'static str>,
    /// The partner itself may call it.
    partner_self: bool,
    /// Any partner may call it (`/me/programs`).
    any_partner: bool,
}

const A: Who = Who {
    scope: None,
    partner_self: false,
    any_partner: false,
};
const AP: Who = Who {
    scope: None,
    partner_self: true,
    any_partner: false,
};

fn s(scope: &'static str) -> Who {
    Who {
        scope: Some(scope),
        ..A
    }
}

fn sp(scope: &'static str) -> Who {
    Who {
        scope: Some(scope),
        partner_self: true,
        any_partner: false,
    }
}

#[tokio::test]
async fn auth_matrix() {
    let t = T::new().await;
    let prog = t.program(json!({})).await;
    let me = t.partner("self@example.com").await;
    let other = t.partner("other@example.com").await;
    let self_key = t.partner_key(&me).await;
    let other_key = t.partner_key(&other).await;
    t.link(&me, &prog, "self-link").await;
    let click = t.click("self-link", &ts(0)).await;
    let mut scoped = std::collections::HashMap::new();
    for sc in [
        "events:write",
        "partners:read",
        "links:write",
        "commissions:read",
        "clicks:write",
        "webhooks:write",
    ] {
        scoped.insert(sc, t.scoped_key(&[sc]).await);
    }
    let all_scopes = t
        .scoped_key(&[
            "events:write",
            "partners:write",
            "partners:read",
            "links:write",
            "commissions:read",
            "clicks:write",
            "webhooks:write",
        ])
        .await;

    let p = |x: &str| {
        x.replace("{me}", &me)
            .replace("{prog}", &prog)
            .replace("{click}", &click)
    };
    let mut n = 0;
    let routes: Vec<(Method, String, Option<Value>, Who)> = vec![
        (Method::GET, p("/programs"), None, A),
        (Method::POST, p("/programs"), Some(json!({})), A),
        (Method::PATCH, p("/programs/{prog}"), Some(json!({})), A),
        (
            Method::GET,
            p("/me/programs"),
            None,
            Who {
                any_partner: true,
                ..A
            },
        ),
        (Method::GET, p("/partners/{me}/campaigns"), None, A),
        (
            Method::POST,
            p("/partners/{me}/campaigns"),
            Some(json!({"programIds": ["x"]})),
            A,
        ),
        (Method::DELETE, p("/partners/{me}/programs/nope"), None, A),
        (
            Method::GET,
            p("/partners/{me}/commission-snapshot"),
            None,
            AP,
        ),
        (
            Method::PUT,
            p("/partners/{me}/commission-snapshot"),
            Some(json!({})),
            A,
        ),
        (
            Method::DELETE,
            p("/partners/{me}/commission-snapshot"),
            None,
            A,
        ),
        (Method::GET, p("/partners/{me}/links"), None, AP),
        (
            Method::POST,
            p("/partners/{me}/links"),
            Some(json!({"linkKey": "self-link", "programId": prog})),
            sp("links:write"),
        ),
        (
            Method::POST,
            p("/clicks"),
            Some(json!({})),
            s("clicks:write"),
        ),
        (Method::GET, p("/admin/clicks/flagged"), None, A),
        (Method::POST, p("/clicks/nope/flag"), Some(json!({})), A),
        (Method::POST, p("/clicks/nope/unflag"), Some(json!({})), A),
        (
            Method::POST,
            p("/attribution/events"),
            Some(json!({})),
            s("events:write"),
        ),
        (Method::GET, p("/commissions"), None, s("commissions:read")),
        (
            Method::GET,
            p("/partners/{me}/commissions"),
            None,
            sp("commissions:read"),
        ),
        (
            Method::POST,
            p("/commissions/nope/approve"),
            Some(json!({})),
            A,
        ),
        (
            Method::POST,
            p("/commissions/nope/reverse"),
            Some(json!({})),
            A,
        ),
        (Method::POST, p("/payouts/nope/confirm"), Some(json!({})), A),
        (Method::GET, p("/partners/{me}/payouts"), None, AP),
        (
            Method::GET,
            p("/partners/{me}/dashboard"),
            None,
            sp("partners:read"),
        ),
        (
            Method::GET,
            p("/partners/{me}/timeseries"),
            None,
            sp("partners:read"),
        ),
        (
            Method::GET,
            p("/partners/{me}/events"),
            None,
            sp("partners:read"),
        ),
        (
            Method::GET,
            p("/partners/{me}/customers"),
            None,
            sp("partners:read"),
        ),
        (Method::GET, p("/export/Partner.csv"), None, A),
        (Method::GET, p("/export.json"), None, A),
    ];
    for (method, path, body, who) in &routes {
        let call = |key: Option<String>| {
            let t = &t;
            let method = method.clone();
            let body = body.clone();
            let path = path.clone();
            async move { t.req(method, &path, key.as_deref(), body).await }
        };
        let allowed = |r: &attribution_support::Resp| r.status != 401 && r.status != 403;
        let ctx = format!("{method} {path}");

        let r = call(None).await;
        assert_eq!(
            (r.status, r.body["error"].clone()),
            (401, json!("unauthorized")),
            "none: {ctx}"
        );
        let r = call(Some(
            "op_000000000000000000000000000000000000000000000000".into(),
        ))
        .await;
        assert_eq!(r.status, 401, "bad key: {ctx}");
        let r = call(Some(ADMIN.into())).await;
        assert!(allowed(&r), "admin: {ctx}: {}", r.text);

        let r = call(Some(self_key.clone())).await;
        if who.partner_self || who.any_partner {
            assert!(allowed(&r), "partner-self: {ctx}: {}", r.text);
        } else {
            assert_eq!(
                (r.status, r.body["error"].clone()),
                (403, json!("forbidden")),
                "partner-self: {ctx}"
            );
        }
        let r = call(Some(other_key.clone())).await;
        if who.any_partner {
            assert!(allowed(&r), "partner-other: {ctx}: {}", r.text);
        } else {
            assert_eq!(
                (r.status, r.body["error"].clone()),
                (403, json!("forbidden")),
                "partner-other: {ctx}"
            );
        }

        match who.scope {
            Some(sc) => {
                let r = call(Some(scoped[sc].clone())).await;
                assert!(allowed(&r), "scoped-with: {ctx}: {}", r.text);
                let r = call(Some(scoped["webhooks:write"].clone())).await;
                assert_eq!(r.status, 403, "scoped-without: {ctx}");
                assert_eq!(r.body["error"], "forbidden_scope", "{ctx}");
                assert_eq!(r.body["required"], json!(sc), "{ctx}");
            }
            None => {
                let r = call(Some(all_scopes.clone())).await;
                assert_eq!(
                    (r.status, r.body["error"].clone()),
                    (403, json!("forbidden")),
                    "scoped: {ctx}"
                );
            }
        }
        n += 1;
    }
    assert_eq!(n, routes.len());
    // payouts/run last: it changes nothing here but keep it out of the loop's repeated calls
    assert_eq!(
        t.req(Method::POST, "/payouts/run", None, None).await.status,
        401
    );
    assert_eq!(
        t.post_as(&self_key, "/payouts/run", json!({})).await.status,
        403
    );
    assert_eq!(
        t.post_as(&all_scopes, "/payouts/run", json!({}))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn other_tenant_credentials_are_401() {
    let mut cfg = openpartner_mock::Config::for_tests(ADMIN);
    cfg.tenancy = openpartner_mock::Tenancy::Multi;
    cfg.tenants = vec!["acme".into(), "globex".into()];
    let t = T::with(cfg).await;
    let key = t.post("/t/acme/api-keys", json!({})).await;
    assert_eq!(key.status, 201, "{}", key.text);
    let acme_admin = key.body["plaintext"].as_str().unwrap().to_owned();
    assert_eq!(t.get_as(&acme_admin, "/t/acme/programs").await.status, 200);
    for path in [
        "/t/globex/programs",
        "/t/globex/commissions",
        "/t/globex/export/Partner.csv",
    ] {
        let r = t.get_as(&acme_admin, path).await;
        assert_eq!(
            (r.status, r.body["error"].clone()),
            (401, json!("unauthorized")),
            "{path}"
        );
    }
    let r = t
        .post_as(
            &acme_admin,
            "/t/globex/attribution/events",
            json!({"userId": "u", "type": "sale"}),
        )
        .await;
    assert_eq!(r.status, 401);
}
