//! The auth matrix: every identity route × admin / scoped with scope / scoped without /
//! partner self / partner other / none, with exact statuses and codes.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

static N: AtomicUsize = AtomicUsize::new(0);

fn uniq() -> usize {
    N.fetch_add(1, Ordering::SeqCst)
}

#[derive(Clone, Copy, PartialEq)]
enum Target {
    NoId,
    Active,
    Pending,
    Revoked,
}

struct Case {
    method: Method,
    path: &'static str,
    body: fn() -> Option<Value>,
    target: Target,
    scope: Option<&'static str>,
    partner_self: bool,
    ok: u16,
}

fn no_body() -> Option<Value> {
    None
}
fn empty() -> Option<Value> {
    Some(json!({}))
}
fn new_partner() -> Option<Value> {
    Some(json!({"email": format!("m{}@x.co", uniq()), "name": "M", "sendInvite": false}))
}
fn new_admin() -> Option<Value> {
    Some(json!({"email": format!("adm{}@x.co", uniq()), "name": "M"}))
}
fn scoped_body() -> Option<Value> {
    Some(json!({"scopes": ["partners:read"]}))
}

fn cases() -> Vec<Case> {
    use Target::*;
    vec![
        Case {
            method: Method::POST,
            path: "/partners",
            body: new_partner,
            target: NoId,
            scope: Some("partners:write"),
            partner_self: false,
            ok: 201,
        },
        Case {
            method: Method::GET,
            path: "/partners",
            body: no_body,
            target: NoId,
            scope: Some("partners:read"),
            partner_self: false,
            ok: 200,
        },
        Case {
            method: Method::GET,
            path: "/partners/{id}",
            body: no_body,
            target: Active,
            scope: None,
            partner_self: true,
            ok: 200,
        },
        Case {
            method: Method::GET,
            path: "/partners/by-external-id/{ext}",
            body: no_body,
            target: Active,
            scope: Some("partners:read"),
            partner_self: false,
            ok: 200,
        },
        Case {
            method: Method::POST,
            path: "/partners/{id}/invite",
            body: empty,
            target: Pending,
            scope: Some("partners:write"),
            partner_self: false,
            ok: 200,
        },
        Case {
            method: Method::POST,
            path: "/partners/{id}/revoke",
            body: empty,
            target: Active,
            scope: Some("partners:write"),
            partner_self: false,
            ok: 200,
        },
        Case {
            method: Method::POST,
            path: "/partners/{id}/reinstate",
            body: empty,
            target: Revoked,
            scope: None,
            partner_self: false,
            ok: 200,
        },
        Case {
            method: Method::POST,
            path: "/partners/{id}/api-keys",
            body: empty,
            target: Active,
            scope: None,
            partner_self: true,
            ok: 201,
        },
        Case {
            method: Method::GET,
            path: "/partners/{id}/api-keys",
            body: no_body,
            target: Active,
            scope: None,
            partner_self: true,
            ok: 200,
        },
        Case {
            method: Method::GET,
            path: "/admins",
            body: no_body,
            target: NoId,
            scope: None,
            partner_self: false,
            ok: 200,
        },
        Case {
            method: Method::POST,
            path: "/admins",
            body: new_admin,
            target: NoId,
            scope: None,
            partner_self: false,
            ok: 201,
        },
        Case {
            method: Method::POST,
            path: "/api-keys",
            body: empty,
            target: NoId,
            scope: None,
            partner_self: false,
            ok: 201,
        },
        Case {
            method: Method::POST,
            path: "/api-keys/scoped",
            body: scoped_body,
            target: NoId,
            scope: None,
            partner_self: false,
            ok: 201,
        },
        Case {
            method: Method::GET,
            path: "/api-keys",
            body: no_body,
            target: NoId,
            scope: None,
            partner_self: false,
            ok: 200,
        },
        Case {
            method: Method::GET,
            path: "/dev/mailbox",
            body: no_body,
            target: NoId,
            scope: None,
            partner_self: false,
            ok: 200,
        },
    ]
}

/// A fresh target partner: (id, externalId).
async fn target(t: &T, kind: Target) -> (String, String) {
    let ext = format!("ext-{}", uniq());
    let r = t
        .post(
            "/partners",
            Some(ADMIN),
            json!({"email": format!("t{}@x.co", uniq()), "name": "T", "externalId": ext, "sendInvite": kind == Target::Pending}),
        )
        .await;
    let id = r.assert_status(201)["id"].as_str().expect("id").to_owned();
    if kind == Target::Revoked {
        t.post(
            &format!("/partners/{id}/revoke"),
            Some(ADMIN),
            json!({"notify": false}),
        )
        .await
        .assert_status(200);
    }
    (id, ext)
}

#[derive(Debug, Clone, Copy)]
enum Who {
    Admin,
    ScopedWith,
    ScopedWithout,
    PartnerSelf,
    PartnerOther,
    Nobody,
}

#[tokio::test]
async fn auth_matrix() {
    let t = start().await;
    // the partner principal, with an external id
    let r = t
        .post(
            "/partners",
            Some(ADMIN),
            json!({"email": "me@x.co", "name": "Me", "externalId": "me-ext", "sendInvite": false}),
        )
        .await;
    let me = r.assert_status(201)["id"].as_str().expect("id").to_owned();
    let k = t
        .post(&format!("/partners/{me}/api-keys"), Some(ADMIN), json!({}))
        .await;
    let me_key = k.assert_status(201)["plaintext"]
        .as_str()
        .expect("pt")
        .to_owned();
    let without = t.scoped_key(&["other:scope"]).await;

    let mut checked = 0;
    for case in cases() {
        for who in [
            Who::Admin,
            Who::ScopedWith,
            Who::ScopedWithout,
            Who::PartnerSelf,
            Who::PartnerOther,
            Who::Nobody,
        ] {
            let (id, ext) = match (who, case.target) {
                (_, Target::NoId) => (String::new(), String::new()),
                (Who::PartnerSelf, _) => (me.clone(), "me-ext".to_owned()),
                (_, kind) => target(&t, kind).await,
            };
            let path = case.path.replace("{id}", &id).replace("{ext}", &ext);
            let cred: Option<String> = match who {
                Who::Admin => Some(ADMIN.to_owned()),
                Who::ScopedWith => match case.scope {
                    Some(s) => Some(t.scoped_key(&[s]).await),
                    None => Some(
                        t.scoped_key(&["partners:read", "partners:write", "events:write"])
                            .await,
                    ),
                },
                Who::ScopedWithout => Some(without.clone()),
                Who::PartnerSelf | Who::PartnerOther => Some(me_key.clone()),
                Who::Nobody => None,
            };
            let r = t
                .call(case.method.clone(), &path, cred.as_deref(), (case.body)())
                .await;
            let ctx = format!(
                "{:?} {} {path} as {who:?}: {}",
                case.method, case.path, r.text
            );
            match who {
                Who::Admin => assert_eq!(r.status, case.ok, "{ctx}"),
                Who::ScopedWith => match case.scope {
                    Some(_) => assert_eq!(r.status, case.ok, "{ctx}"),
                    None => {
                        assert_eq!((r.status, r.code()), (403, "forbidden"), "{ctx}");
                    }
                },
                Who::ScopedWithout => match case.scope {
                    Some(s) => {
                        assert_eq!((r.status, r.code()), (403, "forbidden_scope"), "{ctx}");
                        assert_eq!(r.body["required"], s, "{ctx}");
                    }
                    None => assert_eq!((r.status, r.code()), (403, "forbidden"), "{ctx}"),
                },
                Who::PartnerSelf => {
                    if case.partner_self {
                        assert_eq!(r.status, case.ok, "{ctx}");
                    } else {
                        assert_eq!((r.status, r.code()), (403, "forbidden"), "{ctx}");
                    }
                }
                Who::PartnerOther => assert_eq!((r.status, r.code()), (403, "forbidden"), "{ctx}"),
                Who::Nobody => assert_eq!((r.status, r.code()), (401, "unauthorized"), "{ctx}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 15 * 6);
}

#[tokio::test]
async fn partner_session_behaves_like_partner_key() {
    let t = start().await;
    let (me, session) = t.partner_session("s@x.co").await;
    let other = t.partner("o@x.co", false).await;
    let oid = other["id"].as_str().expect("id");
    t.get(&format!("/partners/{me}"), Some(&session))
        .await
        .assert_status(200);
    t.get(&format!("/partners/{oid}"), Some(&session))
        .await
        .assert_err(403, "forbidden");
    t.get("/partners", Some(&session))
        .await
        .assert_err(403, "forbidden");
    t.post(
        &format!("/partners/{me}/api-keys"),
        Some(&session),
        json!({}),
    )
    .await
    .assert_status(201);
    // a bogus cookie is 401
    t.get(&format!("/partners/{me}"), Some("ops_nope"))
        .await
        .assert_err(401, "unauthorized");
}
