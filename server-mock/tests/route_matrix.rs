//! Proof 4 (RELIABILITY.md §4): **every route × every credential class**.
//!
//! The routes come from the server's own OpenAPI document (`routes::openapi()`, built
//! from the router's route table), so a route cannot be added without appearing here.
//! Each operation needs a row in [`TABLE`] — one expectation table keyed by
//! `METHOD /path/{}` (path parameters normalised to `{}`), written from API.md §2/§3/§5 —
//! saying who may call it; the test fails naming any operation without a row. From the
//! row it derives, for each credential class ([`Class`]), the exact answer:
//! 401 `unauthorized`, 403 `forbidden`, 403 `forbidden_scope` with `required`, 403
//! `ip_not_allowed`, 404 `route_not_found` (`/platform/*` in single mode), or "allowed":
//! neither 401 nor 403 (nor an unrouted 404/405, nor a 500), with minimal valid inputs
//! so that allowed calls reach their handlers. Every error body must be the API's error
//! shape. Rows for routes the server does not serve yet are reported, not failures.
//!
//! It runs twice: on a single-tenant server and on a multi-tenant one (tenants `alpha`
//! and `beta`, where `beta`'s admin key on `alpha`'s paths is the other-tenant class and
//! `/platform/*` answers the platform key). Both run with `--trusted-proxies 10.0.0.0/8`,
//! so the test's own peer (127.0.0.1) is not a trusted proxy and its `X-Forwarded-For`
//! must be ignored.

#[path = "common/mod.rs"]
mod common;
#[path = "route_matrix/fixtures.rs"]
mod fixtures;

use std::collections::{BTreeMap, BTreeSet};

use common::{start_with, Resp, T};
use fixtures::{call, Class, Fixtures, PLATFORM, TRUSTED_PROXIES};
use openpartner_mock::{config::parse_cidrs, routes, Tenancy};
use reqwest::Method;
use serde_json::Value;

/// Who may call a route (API.md's "Who" columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// No authentication: every class reaches the handler.
    Open,
    /// Any tenant principal: admin, scoped key, partner (`GET /auth/introspect`).
    Any,
    /// Admin or partner; a scoped key → 403 `scoped_key_not_for_portal`
    /// (`GET /auth/whoami`).
    Portal,
    /// A.
    Admin,
    /// A, or a scoped key with the scope.
    AdminOrScope(&'static str),
    /// A, or the partner in the path (P).
    AdminOrSelf,
    /// A, the scope, or P.
    AdminScopeOrSelf(&'static str),
    /// A, or any partner (routes without a partner in the path: `GET /me/programs`).
    AdminOrPartner,
    /// A, or P for its own key (`DELETE /api-keys/:keyId`; the path holds a key of self).
    AdminOrKeyOwner,
    /// \[EXT\] the platform key only, multi mode only (404 `route_not_found` in single).
    Platform,
}

use Who::*;

/// The expectation table: one row per operation, from API.md (§1 health, §2 auth, §2.1,
/// §3.1–§3.8, §5). Rows of routes other branches are adding (webhooks, postbacks,
/// `/platform/*`, `/dev/faults`) are here already.
const TABLE: &[(&str, Who)] = &[
    // §1, §2.1: meta, sign-in and identity
    ("GET /health", Open),
    ("GET /openapi.json", Open),
    ("POST /auth/signin", Open),
    ("POST /auth/magic/verify", Open),
    ("POST /auth/signout", Open),
    ("GET /auth/whoami", Portal),
    ("GET /auth/introspect", Any),
    ("GET /dev/mailbox", Admin),
    ("GET /dev/faults", Admin),
    ("POST /partners/{}/login-links", Admin),
    // §3.1 partners
    ("POST /partners", AdminOrScope("partners:write")),
    ("GET /partners", AdminOrScope("partners:read")),
    ("GET /partners/{}", AdminOrSelf),
    (
        "GET /partners/by-external-id/{}",
        AdminOrScope("partners:read"),
    ),
    ("POST /partners/{}/invite", AdminOrScope("partners:write")),
    ("POST /partners/{}/revoke", AdminOrScope("partners:write")),
    ("POST /partners/{}/reinstate", Admin),
    ("GET /partners/{}/commission-snapshot", AdminOrSelf),
    ("PUT /partners/{}/commission-snapshot", Admin),
    ("DELETE /partners/{}/commission-snapshot", Admin),
    ("GET /partners/{}/campaigns", Admin),
    ("POST /partners/{}/campaigns", Admin),
    ("DELETE /partners/{}/programs/{}", Admin),
    (
        "GET /partners/{}/dashboard",
        AdminScopeOrSelf("partners:read"),
    ),
    (
        "GET /partners/{}/timeseries",
        AdminScopeOrSelf("partners:read"),
    ),
    ("GET /partners/{}/events", AdminScopeOrSelf("partners:read")),
    (
        "GET /partners/{}/customers",
        AdminScopeOrSelf("partners:read"),
    ),
    // §3.2 programs
    ("GET /programs", Admin),
    ("GET /me/programs", AdminOrPartner),
    ("POST /programs", Admin),
    ("PATCH /programs/{}", Admin),
    // §3.3 links, clicks, identify
    ("GET /partners/{}/links", AdminOrSelf),
    ("POST /partners/{}/links", AdminScopeOrSelf("links:write")),
    ("GET /r/{}", Open),
    ("POST /clicks", AdminOrScope("clicks:write")),
    ("POST /attribution/identify", Open),
    ("OPTIONS /attribution/identify", Open),
    ("GET /admin/clicks/flagged", Admin),
    ("POST /clicks/{}/flag", Admin),
    ("POST /clicks/{}/unflag", Admin),
    // §3.4 events
    ("POST /attribution/events", AdminOrScope("events:write")),
    // §3.5 commissions and payouts
    ("GET /commissions", AdminOrScope("commissions:read")),
    (
        "GET /partners/{}/commissions",
        AdminScopeOrSelf("commissions:read"),
    ),
    ("POST /commissions/{}/approve", Admin),
    ("POST /commissions/{}/reverse", Admin),
    ("POST /payouts/run", Admin),
    ("POST /payouts/{}/confirm", Admin),
    ("GET /partners/{}/payouts", AdminOrSelf),
    // §3.6 webhooks
    ("POST /webhooks", AdminOrScope("webhooks:write")),
    ("GET /webhooks", Admin),
    ("GET /webhooks/{}", Admin),
    ("PATCH /webhooks/{}", Admin),
    ("DELETE /webhooks/{}", AdminOrScope("webhooks:write")),
    ("GET /webhooks/{}/deliveries", Admin),
    ("GET /webhooks/{}/deliveries/{}/attempts", Admin),
    ("POST /webhooks/{}/deliveries/{}/retry", Admin),
    ("POST /webhooks/{}/test", Admin),
    // §3.6 partner postbacks (A, P)
    ("GET /partners/{}/postbacks", AdminOrSelf),
    ("POST /partners/{}/postbacks", AdminOrSelf),
    ("PATCH /partners/{}/postbacks/{}", AdminOrSelf),
    ("DELETE /partners/{}/postbacks/{}", AdminOrSelf),
    ("GET /partners/{}/postbacks/{}/attempts", AdminOrSelf),
    // §3.7 API keys
    ("POST /api-keys", Admin),
    ("POST /api-keys/scoped", Admin),
    ("GET /api-keys", Admin),
    ("POST /partners/{}/api-keys", AdminOrSelf),
    ("GET /partners/{}/api-keys", AdminOrSelf),
    ("DELETE /api-keys/{}", AdminOrKeyOwner),
    // §3.8 admins, export
    ("GET /admins", Admin),
    ("POST /admins", Admin),
    ("POST /admins/{}/invite", Admin),
    ("POST /admins/{}/revoke", Admin),
    ("POST /admins/{}/reinstate", Admin),
    ("GET /export/{}", Admin),
    ("GET /export.json", Admin),
    // §5 tenant provisioning
    ("POST /platform/tenants", Platform),
    ("GET /platform/tenants", Platform),
    ("GET /platform/tenants/by-external-id/{}", Platform),
    ("POST /platform/tenants/{}/api-keys", Platform),
    ("POST /platform/tenants/{}/login-links", Platform),
];

/// Operations run after all others because they end the caller's credential
/// (`POST /auth/signout` revokes the session cookies the session classes use).
const RUN_LAST: &[&str] = &["POST /auth/signout"];

impl Who {
    /// The scope the route grants.
    fn scope(self) -> Option<&'static str> {
        match self {
            AdminOrScope(s) | AdminScopeOrSelf(s) => Some(s),
            _ => None,
        }
    }

    /// True when the partner in the path may call it (the path then names self).
    fn admits_self(self) -> bool {
        matches!(
            self,
            Any | Portal | AdminOrSelf | AdminScopeOrSelf(_) | AdminOrPartner | AdminOrKeyOwner
        )
    }
}

/// The answer a class must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Past every guard: neither 401 nor 403 (nor unrouted, nor 500).
    Allowed,
    /// Exactly this status and `error` code.
    Error(u16, &'static str),
    /// 403 `forbidden_scope` with `required` = the scope.
    ForbiddenScope(&'static str),
}

const UNAUTHORIZED: Expect = Expect::Error(401, "unauthorized");
const FORBIDDEN: Expect = Expect::Error(403, "forbidden");

/// Derives the answer of `class` on a route of `who` (API.md §2 guards, §3.7 allowlist
/// order: authentication, then the allowlist, then role and scope).
fn expect(who: Who, class: Class, multi: bool) -> Expect {
    use Class as C;
    if who == Platform {
        return match (multi, class) {
            (false, _) => Expect::Error(404, "route_not_found"),
            (true, C::PlatformKey) => Expect::Allowed,
            (true, _) => UNAUTHORIZED,
        };
    }
    if who == Open {
        return Expect::Allowed;
    }
    match class {
        C::NoCredential
        | C::NoCredentialEmptyBody
        | C::MalformedHeader
        | C::MalformedHeaderWithSession
        | C::RevokedKey
        | C::RevokedPartnerKey
        | C::RevokedAdminSession
        | C::RevokedPartnerSession
        | C::OtherTenantKey
        | C::OtherTenantSession
        | C::PlatformKey => UNAUTHORIZED,
        C::IpDenied | C::SpoofedXff => Expect::Error(403, "ip_not_allowed"),
        C::BootstrapAdmin | C::DbAdmin | C::LowercaseScheme | C::AdminSession => Expect::Allowed,
        C::ScopedWith | C::ScopedWithout => match (who, who.scope()) {
            (Any, _) => Expect::Allowed,
            (Portal, _) => Expect::Error(403, "scoped_key_not_for_portal"),
            (_, Some(_)) if class == C::ScopedWith => Expect::Allowed,
            (_, Some(s)) => Expect::ForbiddenScope(s),
            (_, None) => FORBIDDEN,
        },
        C::PartnerSelf | C::PartnerSelfSession if who.admits_self() => Expect::Allowed,
        C::PartnerOther if matches!(who, Any | Portal | AdminOrPartner) => Expect::Allowed,
        C::PartnerSelf | C::PartnerSelfSession | C::PartnerOther => FORBIDDEN,
    }
}

/// `METHOD /path/{}`: the method upper-cased, every `{param}` segment as `{}`.
fn normalise(method: &str, path: &str) -> String {
    let path: Vec<&str> = path
        .split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect();
    format!("{} {}", method.to_uppercase(), path.join("/"))
}

/// One operation of the document.
struct Op {
    key: String,
    method: Method,
    path: String,
    who: Who,
    /// Served outside any tenant (`routes::public()`'s paths and `/platform/*`).
    root: bool,
}

/// The document's operations with their rows; panics naming every operation without a
/// row (and on duplicate rows). Also returns the rows whose route is not served yet.
fn operations() -> (Vec<Op>, Vec<&'static str>) {
    let mut rows = BTreeMap::new();
    for (key, who) in TABLE {
        assert!(rows.insert(*key, *who).is_none(), "row {key} repeats");
    }
    let doc: Value = serde_json::from_str(&routes::openapi::to_json(&routes::openapi()))
        .expect("the document is JSON");
    let public: Value =
        serde_json::from_str(&routes::openapi::to_json(&routes::public().into_openapi()))
            .expect("JSON");
    let root_paths: BTreeSet<String> = public["paths"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let mut ops = Vec::new();
    let mut missing = Vec::new();
    let mut seen = BTreeSet::new();
    let mut disagree = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            let key = normalise(method, path);
            let Some(who) = rows.get(key.as_str()).copied() else {
                missing.push(key);
                continue;
            };
            seen.insert(key.clone());
            // the document's own word on authentication agrees with the row
            let open_in_doc = item[method]["security"] == serde_json::json!([{}]);
            if !path.starts_with("/platform/") && open_in_doc != (who == Open) {
                disagree.push(format!(
                    "{key}: row {who:?}, document security {}",
                    item[method]["security"]
                ));
            }
            ops.push(Op {
                method: Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"),
                root: root_paths.contains(path) || path.starts_with("/platform/"),
                path: path.clone(),
                who,
                key,
            });
        }
    }
    assert!(
        missing.is_empty(),
        "operations of the OpenAPI document without a row in route_matrix.rs TABLE (add \
         one from API.md's Who column): {missing:#?}"
    );
    assert!(
        disagree.is_empty(),
        "rows and the document disagree on which operations are open: {disagree:#?}"
    );
    ops.sort_by_key(|op| RUN_LAST.contains(&op.key.as_str()));
    let not_served = rows
        .keys()
        .copied()
        .filter(|k| !seen.contains(*k))
        .collect();
    (ops, not_served)
}

/// The error shape of API.md §1: a JSON object whose `error` is a stable code, with an
/// optional `detail` (text or object).
fn assert_error_shape(r: &Resp, ctx: &str) {
    let code = r.body["error"].as_str().unwrap_or_default();
    assert!(
        r.body.is_object()
            && !code.is_empty()
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "{ctx}: not the API's error shape: {}",
        r.text
    );
    match r.body.get("detail") {
        None | Some(Value::String(_)) | Some(Value::Object(_)) => {}
        Some(other) => panic!("{ctx}: detail is neither text nor object: {other}"),
    }
}

/// What one run measured.
#[derive(Default)]
struct Tally {
    operations: usize,
    classes: BTreeSet<String>,
    cases: usize,
    allowed: BTreeMap<String, usize>,
    denied: BTreeMap<String, usize>,
    /// Allowed calls the handler answered with an error (unknown ids, conflicts).
    handler_errors: BTreeSet<String>,
}

async fn run(multi: bool) -> Tally {
    let (ops, not_served) = operations();
    let t: T = start_with(|c| {
        c.platform_key = Some(PLATFORM.into());
        c.trusted_proxies = parse_cidrs(TRUSTED_PROXIES).expect("cidrs");
        c.route_limits = false;
        if multi {
            c.tenancy = Tenancy::Multi;
            c.tenants = vec!["alpha".into(), "beta".into()];
        }
    })
    .await;
    let beta = multi.then(|| t.srv.tenant_url("beta"));
    let fx = Fixtures::mint(&t, beta.as_deref()).await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mode = if multi { "multi" } else { "single" };
    let mut tally = Tally {
        operations: ops.len(),
        ..Tally::default()
    };
    let mut failures = Vec::new();
    for op in &ops {
        for &class in Class::ALL {
            let Some(cred) = fx.cred(class, op.who.scope()) else {
                continue;
            };
            let path = fx.path(&t, &op.path, op.who.admits_self()).await;
            let url = if multi && op.path.starts_with("/r/") {
                // the click router's multi-mode form: /r/<slug>/<linkKey>
                format!("{}/r/alpha{}", t.srv.base_url, &path[2..])
            } else if op.root {
                format!("{}{path}", t.srv.base_url)
            } else {
                format!("{}{path}", t.base)
            };
            let body = match fx.body(&op.key, &op.method) {
                Some(_) if class == Class::NoCredentialEmptyBody => Some(serde_json::json!({})),
                b => b,
            };
            let r = call(&http, op.method.clone(), &url, &cred, body.as_ref()).await;
            let want = expect(op.who, class, multi);
            let ctx = format!(
                "[{mode}] {} as {class:?} (expected {want:?}): {} {}",
                op.key, r.status, r.text
            );
            if r.status >= 400 {
                assert_error_shape(&r, &ctx);
            }
            let ok = match want {
                Expect::Allowed => {
                    r.status != 401
                        && r.status != 403
                        && r.status != 405
                        && r.status < 500
                        && !(r.status == 404 && r.code() == "route_not_found")
                }
                Expect::Error(status, code) => r.status == status && r.code() == code,
                Expect::ForbiddenScope(s) => {
                    r.status == 403 && r.code() == "forbidden_scope" && r.body["required"] == s
                }
            };
            if !ok {
                failures.push(ctx);
            } else if want == Expect::Allowed && r.status >= 400 {
                tally
                    .handler_errors
                    .insert(format!("{} → {} {}", op.key, r.status, r.code()));
            }
            let bucket = if want == Expect::Allowed {
                &mut tally.allowed
            } else {
                &mut tally.denied
            };
            let label = match want {
                Expect::Allowed => format!("{}xx", r.status / 100),
                _ => format!("{} {}", r.status, r.code()),
            };
            *bucket.entry(label).or_default() += 1;
            tally.classes.insert(format!("{class:?}"));
            tally.cases += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from the table:\n{}",
        failures.len(),
        tally.cases,
        failures.join("\n")
    );
    println!(
        "route matrix [{mode}]: {} operations × {} classes = {} cases, all passed",
        tally.operations,
        tally.classes.len(),
        tally.cases
    );
    println!("  allowed calls by status class: {:?}", tally.allowed);
    println!("  denied calls by answer: {:?}", tally.denied);
    println!(
        "  handler errors of allowed calls (past the guards): {:#?}",
        tally.handler_errors
    );
    println!(
        "  rows not in the document yet (reported, not failures): {}: {not_served:?}",
        not_served.len()
    );
    tally
}

/// Fast feedback: every operation of the document has a row (no server needed).
#[test]
fn every_documented_operation_has_a_row() {
    let (ops, not_served) = operations();
    assert!(ops.len() > 40, "only {} operations", ops.len());
    println!(
        "{} operations with rows; {} rows not served yet: {not_served:?}",
        ops.len(),
        not_served.len()
    );
}

#[test]
fn the_expectations_follow_api_md_examples() {
    // spot checks of the derivation against sentences of API.md
    assert_eq!(
        expect(AdminOrScope("partners:write"), Class::ScopedWithout, false),
        Expect::ForbiddenScope("partners:write")
    );
    assert_eq!(expect(Admin, Class::ScopedWith, false), FORBIDDEN);
    assert_eq!(
        expect(Admin, Class::PartnerSelf, true),
        FORBIDDEN,
        "partner on an admin route"
    );
    assert_eq!(
        expect(Admin, Class::IpDenied, false),
        Expect::Error(403, "ip_not_allowed"),
        "the allowlist comes before the role check"
    );
    assert_eq!(expect(AdminOrSelf, Class::PartnerOther, false), FORBIDDEN);
    assert_eq!(expect(Platform, Class::BootstrapAdmin, true), UNAUTHORIZED);
    assert_eq!(
        expect(Platform, Class::PlatformKey, false),
        Expect::Error(404, "route_not_found")
    );
    assert_eq!(expect(Admin, Class::OtherTenantKey, true), UNAUTHORIZED);
    assert_eq!(expect(Open, Class::RevokedKey, false), Expect::Allowed);
}

#[tokio::test]
async fn route_matrix_single_tenant() {
    let tally = run(false).await;
    assert_eq!(
        tally.classes.len(),
        Class::ALL.len() - 2,
        "every class but the other tenant's key and session"
    );
}

#[tokio::test]
async fn route_matrix_multi_tenant() {
    let tally = run(true).await;
    assert_eq!(tally.classes.len(), Class::ALL.len());
}
