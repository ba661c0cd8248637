//! The credential classes of the route matrix, minted on a running server, and the inputs
//! (path parameters, bodies) that let an allowed call reach its handler.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{send, Resp, ADMIN, T};
use reqwest::Method;
use serde_json::{json, Value};

/// The `PLATFORM_API_KEY` of every matrix server.
pub const PLATFORM: &str = "route-matrix-platform-key";
/// Every scope API.md §2 grants a route with.
pub const SCOPES: &[&str] = &[
    "events:write",
    "partners:write",
    "partners:read",
    "links:write",
    "commissions:read",
    "clicks:write",
    "webhooks:write",
];
/// The address an allowlisted key admits in the spoofing class (sent in `X-Forwarded-For`).
pub const SPOOFED_IP: &str = "203.0.113.7";
/// The trusted proxies of the matrix servers: the test's own peer (127.0.0.1) is outside.
pub const TRUSTED_PROXIES: &str = "10.0.0.0/8";

/// One way of calling: every class of API.md §2 (and §3.7's allowlist) the matrix sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `ADMIN_API_KEY` (valid in every tenant).
    BootstrapAdmin,
    /// A DB admin key (`POST /api-keys`).
    DbAdmin,
    /// An admin's `op_session` cookie (magic link of `POST /admins`).
    AdminSession,
    /// A scoped key holding the route's scope (every scope when the route grants none).
    ScopedWith,
    /// A scoped key holding every scope but the route's (one unrelated scope when the
    /// route grants none).
    ScopedWithout,
    /// A partner key of the partner in the path.
    PartnerSelf,
    /// That partner's `op_session` cookie.
    PartnerSelfSession,
    /// A partner key of another partner.
    PartnerOther,
    /// No credential at all.
    NoCredential,
    /// No credential, and `{}` as the body of writes (missing required fields): the
    /// guard answers before field validation.
    NoCredentialEmptyBody,
    /// `Authorization: Basic …` (only Bearer is tried).
    MalformedHeader,
    /// `Authorization: Basic …` plus a valid admin session cookie: the cookie is used only
    /// when there is no `Authorization` header.
    MalformedHeaderWithSession,
    /// A DB admin key sent as `authorization: bearer <key>` (the scheme is
    /// case-insensitive).
    LowercaseScheme,
    /// A DB admin key after `DELETE /api-keys/:id`.
    RevokedKey,
    /// The key of a partner after `POST /partners/:id/revoke`.
    RevokedPartnerKey,
    /// A session of a revoked admin.
    RevokedAdminSession,
    /// A session of a revoked partner.
    RevokedPartnerSession,
    /// A DB admin key of another tenant (multi mode only).
    OtherTenantKey,
    /// An admin session of another tenant (multi mode only).
    OtherTenantSession,
    /// A DB admin key whose allowlist excludes the caller (127.0.0.1).
    IpDenied,
    /// A DB admin key allowlisted to [`SPOOFED_IP`], sent with that address in
    /// `X-Forwarded-For` from a peer outside `--trusted-proxies`.
    SpoofedXff,
    /// The `PLATFORM_API_KEY`.
    PlatformKey,
}

impl Class {
    /// Every class, in the order the matrix runs them.
    pub const ALL: &'static [Class] = &[
        Class::BootstrapAdmin,
        Class::DbAdmin,
        Class::AdminSession,
        Class::ScopedWith,
        Class::ScopedWithout,
        Class::PartnerSelf,
        Class::PartnerSelfSession,
        Class::PartnerOther,
        Class::NoCredential,
        Class::NoCredentialEmptyBody,
        Class::MalformedHeader,
        Class::MalformedHeaderWithSession,
        Class::LowercaseScheme,
        Class::RevokedKey,
        Class::RevokedPartnerKey,
        Class::RevokedAdminSession,
        Class::RevokedPartnerSession,
        Class::OtherTenantKey,
        Class::OtherTenantSession,
        Class::IpDenied,
        Class::SpoofedXff,
        Class::PlatformKey,
    ];
}

/// How a class authenticates one request.
#[derive(Debug, Clone)]
pub enum Cred {
    /// Nothing.
    None,
    /// `Authorization: Bearer <key>`.
    Bearer(String),
    /// A raw `Authorization` header value.
    RawAuthorization(String),
    /// A raw `Authorization` header value and `Cookie: op_session=<token>`.
    RawAuthorizationWithSession(String, String),
    /// `Cookie: op_session=<token>`.
    Session(String),
    /// Bearer plus an `X-Forwarded-For` header.
    BearerWithXff(String, &'static str),
}

/// Everything the matrix needs on one server (minted through the API with the bootstrap
/// admin key).
pub struct Fixtures {
    /// The program every partner is granted.
    pub program_id: String,
    /// The partner whose keys and session are "self".
    pub self_id: String,
    /// `externalId` of the target partner.
    pub target_ext: String,
    /// A partner that is neither caller nor revoked (target of admin-only partner routes).
    pub target_id: String,
    /// An admin that is no caller (target of `/admins/:id/*`).
    pub target_admin_id: String,
    /// A link of the target partner, and one click on it.
    pub link_key: String,
    /// The click's id.
    pub click_id: String,
    self_key: String,
    self_session: String,
    other_key: String,
    db_admin: String,
    admin_session: String,
    revoked_key: String,
    revoked_partner_key: String,
    ip_denied: String,
    spoofed: String,
    other_tenant: Option<String>,
    other_tenant_session: Option<String>,
    revoked_admin_session: String,
    revoked_partner_session: String,
    scoped_all: String,
    scoped_unrelated: String,
    scoped_with: Vec<(String, String)>,
    scoped_without: Vec<(String, String)>,
}

static N: AtomicUsize = AtomicUsize::new(0);

/// A process-unique number (emails, link keys, click ids).
pub fn uniq() -> usize {
    N.fetch_add(1, Ordering::SeqCst)
}

fn field(r: &Resp, status: u16, name: &str) -> String {
    r.assert_status(status)[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {}", r.text))
        .to_owned()
}

async fn session_of(t: &T, email: &str, purpose: &str) -> String {
    let token = t.last_token(email, purpose).await.expect("magic-link mail");
    let (r, session) = t.verify(&token).await;
    r.assert_status(200);
    session.expect("op_session cookie")
}

async fn key(t: &T, path: &str, body: Value) -> (String, String) {
    let r = t.post(path, Some(ADMIN), body).await;
    (field(&r, 201, "id"), field(&r, 201, "plaintext"))
}

impl Fixtures {
    /// Mints every class on `t`'s tenant; `other_tenant` is the URL of a second tenant
    /// (multi mode) whose admin key becomes [`Class::OtherTenantKey`].
    pub async fn mint(t: &T, other_tenant: Option<&str>) -> Fixtures {
        let r = t
            .post(
                "/programs",
                Some(ADMIN),
                json!({"name": "Matrix", "commissionRule": {"type": "percent", "value": 10},
                       "destinationUrl": "https://shop.example.com"}),
            )
            .await;
        let program_id = field(&r, 201, "id");
        // self: invited, then activated by its magic link (which yields the session)
        let r = t
            .post(
                "/partners",
                Some(ADMIN),
                json!({"email": "self@matrix.test", "name": "Self", "externalId": "self-ext"}),
            )
            .await;
        let self_id = field(&r, 201, "id");
        let self_session = session_of(t, "self@matrix.test", "partner_invite").await;
        let (_, self_key) = key(t, &format!("/partners/{self_id}/api-keys"), json!({})).await;
        let (_, other_key) = t.partner_with_key("other@matrix.test").await;
        let r = t
            .post(
                "/partners",
                Some(ADMIN),
                json!({"email": "target@matrix.test", "name": "Target", "externalId": "target-ext",
                       "sendInvite": false}),
            )
            .await;
        let target_id = field(&r, 201, "id");
        let (revoked_pid, revoked_partner_key) = t.partner_with_key("revoked@matrix.test").await;
        t.post(
            &format!("/partners/{revoked_pid}/revoke"),
            Some(ADMIN),
            json!({"notify": false}),
        )
        .await
        .assert_status(200);
        let db_admin = t.admin_key().await;
        let (revoked_id, revoked_key) = key(t, "/api-keys", json!({})).await;
        t.delete(&format!("/api-keys/{revoked_id}"), Some(ADMIN))
            .await
            .assert_status(200);
        let (_, ip_denied) = key(t, "/api-keys", json!({"allowedIps": ["192.0.2.0/24"]})).await;
        let (_, spoofed) = key(t, "/api-keys", json!({"allowedIps": [SPOOFED_IP]})).await;
        t.post(
            "/admins",
            Some(ADMIN),
            json!({"email": "admin@matrix.test", "name": "Admin"}),
        )
        .await
        .assert_status(201);
        let admin_session = session_of(t, "admin@matrix.test", "admin_invite").await;
        let r = t
            .post(
                "/admins",
                Some(ADMIN),
                json!({"email": "target-admin@matrix.test", "name": "Target admin"}),
            )
            .await;
        let target_admin_id = field(&r, 201, "id");
        let scoped_all = t.scoped_key(SCOPES).await;
        let scoped_unrelated = t.scoped_key(&["unrelated:scope"]).await;
        let mut scoped_with = Vec::new();
        let mut scoped_without = Vec::new();
        for s in SCOPES {
            scoped_with.push((s.to_string(), t.scoped_key(&[s]).await));
            let rest: Vec<&str> = SCOPES.iter().copied().filter(|x| x != s).collect();
            scoped_without.push((s.to_string(), t.scoped_key(&rest).await));
        }
        let link_key = "matrix-link".to_owned();
        t.post(
            &format!("/partners/{target_id}/links"),
            Some(ADMIN),
            json!({"linkKey": link_key, "programId": program_id}),
        )
        .await
        .assert_status(201);
        let click_id = "matrix-click-0000000000001".to_owned();
        t.post(
            "/clicks",
            Some(ADMIN),
            json!({"id": click_id, "linkKey": link_key, "landingUrl": "https://shop.example.com/",
                   "ts": "2026-01-01T00:00:00.000Z"}),
        )
        .await
        .assert_status(201);
        // sessions of an admin and a partner that are then revoked
        let r = t
            .post(
                "/admins",
                Some(ADMIN),
                json!({"email": "gone-admin@matrix.test", "name": "Gone"}),
            )
            .await;
        let gone_admin = field(&r, 201, "id");
        let revoked_admin_session = session_of(t, "gone-admin@matrix.test", "admin_invite").await;
        t.post(
            &format!("/admins/{gone_admin}/revoke"),
            Some(ADMIN),
            json!({}),
        )
        .await
        .assert_status(200);
        let r = t
            .post(
                "/partners",
                Some(ADMIN),
                json!({"email": "gone@matrix.test", "name": "Gone"}),
            )
            .await;
        let gone = field(&r, 201, "id");
        let revoked_partner_session = session_of(t, "gone@matrix.test", "partner_invite").await;
        t.post(
            &format!("/partners/{gone}/revoke"),
            Some(ADMIN),
            json!({"notify": false}),
        )
        .await
        .assert_status(200);
        let (other_tenant, other_tenant_session) = match other_tenant {
            Some(url) => {
                let r = send(
                    t.http
                        .post(format!("{url}/api-keys"))
                        .bearer_auth(ADMIN)
                        .json(&json!({})),
                )
                .await;
                let key = field(&r, 201, "plaintext");
                let email = "beta-admin@matrix.test";
                send(
                    t.http
                        .post(format!("{url}/admins"))
                        .bearer_auth(ADMIN)
                        .json(&json!({"email": email, "name": "Beta"})),
                )
                .await
                .assert_status(201);
                let r = send(t.http.get(format!("{url}/dev/mailbox")).bearer_auth(ADMIN)).await;
                let token = r.assert_status(200)["messages"]
                    .as_array()
                    .and_then(|m| m.iter().rev().find(|m| m["to"] == email))
                    .and_then(|m| m["metadata"]["token"].as_str())
                    .expect("beta invite")
                    .to_owned();
                let r = send(
                    t.http
                        .post(format!("{url}/auth/magic/verify"))
                        .json(&json!({"token": token})),
                )
                .await;
                r.assert_status(200);
                let session = r
                    .header("set-cookie")
                    .and_then(|c| c.strip_prefix("op_session="))
                    .and_then(|c| c.split(';').next())
                    .expect("beta session")
                    .to_owned();
                (Some(key), Some(session))
            }
            None => (None, None),
        };
        Fixtures {
            program_id,
            self_id,
            target_ext: "target-ext".into(),
            target_id,
            target_admin_id,
            link_key,
            click_id,
            self_key,
            self_session,
            other_key,
            db_admin,
            admin_session,
            revoked_key,
            revoked_partner_key,
            ip_denied,
            spoofed,
            other_tenant,
            other_tenant_session,
            revoked_admin_session,
            revoked_partner_session,
            scoped_all,
            scoped_unrelated,
            scoped_with,
            scoped_without,
        }
    }

    /// The credential of `class` for a route granting `scope`; `None` when the class does
    /// not exist on this server (another tenant in single mode).
    pub fn cred(&self, class: Class, scope: Option<&str>) -> Option<Cred> {
        let scoped = |list: &[(String, String)], s: &str| {
            list.iter()
                .find(|(x, _)| x == s)
                .map(|(_, k)| k.clone())
                .unwrap_or_else(|| panic!("no scoped key for {s}"))
        };
        Some(match class {
            Class::BootstrapAdmin => Cred::Bearer(ADMIN.into()),
            Class::DbAdmin => Cred::Bearer(self.db_admin.clone()),
            Class::AdminSession => Cred::Session(self.admin_session.clone()),
            Class::ScopedWith => Cred::Bearer(match scope {
                Some(s) => scoped(&self.scoped_with, s),
                None => self.scoped_all.clone(),
            }),
            Class::ScopedWithout => Cred::Bearer(match scope {
                Some(s) => scoped(&self.scoped_without, s),
                None => self.scoped_unrelated.clone(),
            }),
            Class::PartnerSelf => Cred::Bearer(self.self_key.clone()),
            Class::PartnerSelfSession => Cred::Session(self.self_session.clone()),
            Class::PartnerOther => Cred::Bearer(self.other_key.clone()),
            Class::NoCredential | Class::NoCredentialEmptyBody => Cred::None,
            Class::MalformedHeader => Cred::RawAuthorization("Basic YWRtaW46YWRtaW4=".into()),
            Class::MalformedHeaderWithSession => Cred::RawAuthorizationWithSession(
                "Basic YWRtaW46YWRtaW4=".into(),
                self.admin_session.clone(),
            ),
            Class::LowercaseScheme => Cred::RawAuthorization(format!("bearer {}", self.db_admin)),
            Class::RevokedAdminSession => Cred::Session(self.revoked_admin_session.clone()),
            Class::RevokedPartnerSession => Cred::Session(self.revoked_partner_session.clone()),
            Class::OtherTenantSession => Cred::Session(self.other_tenant_session.clone()?),
            Class::RevokedKey => Cred::Bearer(self.revoked_key.clone()),
            Class::RevokedPartnerKey => Cred::Bearer(self.revoked_partner_key.clone()),
            Class::OtherTenantKey => Cred::Bearer(self.other_tenant.clone()?),
            Class::IpDenied => Cred::Bearer(self.ip_denied.clone()),
            Class::SpoofedXff => Cred::BearerWithXff(self.spoofed.clone(), SPOOFED_IP),
            Class::PlatformKey => Cred::Bearer(PLATFORM.into()),
        })
    }

    /// The concrete path of `template` (OpenAPI path with `{param}`s): the partner in the
    /// path is self when `partner_self` (the route admits the partner itself), else the
    /// target partner; other ids are real where cheap, else well-formed unknown ids (the
    /// handler's 404 is past the guard). `DELETE /api-keys/{key_id}` gets a fresh key of
    /// self per call (the call may revoke it).
    pub async fn path(&self, t: &T, template: &str, partner_self: bool) -> String {
        const UNKNOWN: &str = "01J00000000000000000UNKNOWN";
        let segs: Vec<&str> = template.split('/').collect();
        let mut out = Vec::with_capacity(segs.len());
        for (i, seg) in segs.iter().enumerate() {
            if !seg.starts_with('{') {
                out.push(seg.to_string());
                continue;
            }
            let prev = if i > 0 { segs[i - 1] } else { "" };
            let first = segs.get(1).copied().unwrap_or("");
            let value = match (first, prev) {
                ("partners", "by-external-id") => self.target_ext.clone(),
                ("partners", "partners") if partner_self => self.self_id.clone(),
                ("partners", "partners") => self.target_id.clone(),
                ("partners", "programs") => self.program_id.clone(),
                ("programs", "programs") => self.program_id.clone(),
                ("admins", "admins") => self.target_admin_id.clone(),
                ("clicks", "clicks") => self.click_id.clone(),
                ("r", "r") => self.link_key.clone(),
                ("export", "export") => "Partner.json".into(),
                ("api-keys", "api-keys") => {
                    key(
                        t,
                        &format!("/partners/{}/api-keys", self.self_id),
                        json!({}),
                    )
                    .await
                    .0
                }
                _ => UNKNOWN.into(),
            };
            out.push(value);
        }
        out.join("/")
    }

    /// A minimal valid body for `METHOD /path/{}` (fresh unique values where the route
    /// creates something), `{}` for other writes, none for reads.
    pub fn body(&self, key: &str, method: &Method) -> Option<Value> {
        let n = uniq();
        let body = match key {
            "POST /auth/signin" => json!({"email": "nobody@matrix.test"}),
            "POST /auth/magic/verify" => json!({"token": format!("opml_{}", "0".repeat(48))}),
            "POST /partners" => {
                json!({"email": format!("new{n}@matrix.test"), "name": "New", "sendInvite": false})
            }
            "POST /partners/{}/revoke" => json!({"notify": false}),
            "PUT /partners/{}/commission-snapshot" => {
                json!({"commissionType": "percent", "commissionValue": 10})
            }
            "POST /partners/{}/campaigns" => json!({"programIds": [self.program_id]}),
            "POST /partners/{}/links" => {
                json!({"linkKey": format!("link-{n}"), "programId": self.program_id})
            }
            "POST /partners/{}/postbacks" => json!({
                "url": "https://matrix.invalid/pb?click={click_id}",
                "events": ["commission.accrued"]}),
            "PATCH /partners/{}/postbacks/{}" => json!({"enabled": false}),
            "POST /api-keys/scoped" => json!({"scopes": ["partners:read"]}),
            "POST /admins" => json!({"email": format!("adm{n}@matrix.test"), "name": "Adm"}),
            "POST /programs" => {
                json!({"name": "P", "commissionRule": {"type": "percent", "value": 5},
                                       "destinationUrl": "https://shop.example.com"})
            }
            "PATCH /programs/{}" => json!({"name": "Matrix"}),
            "POST /clicks" => {
                json!({"id": format!("matrix-click-{n:013}"), "linkKey": self.link_key,
                                     "landingUrl": "https://shop.example.com/", "ts": "2026-01-01T00:00:00.000Z"})
            }
            "POST /attribution/identify" => json!({"cref": self.click_id, "userId": "matrix-user"}),
            "POST /attribution/events" => {
                json!({"userId": "matrix-user", "type": "sale", "value": 1})
            }
            "POST /webhooks" => json!({"url": "https://matrix.invalid/hook", "events": ["*"]}),
            "PATCH /webhooks/{}" => json!({"label": "matrix"}),
            "POST /platform/tenants" => json!({"slug": format!("matrix-{n}"), "displayName": "M"}),
            "POST /platform/tenants/{}/login-links" => json!({"email": "owner@matrix.test"}),
            _ if [Method::POST, Method::PUT, Method::PATCH].contains(method) => json!({}),
            _ => return None,
        };
        Some(body)
    }
}

/// Sends one request with `cred` and an optional JSON body.
pub async fn call(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    cred: &Cred,
    body: Option<&Value>,
) -> Resp {
    let mut rb = http.request(method, url);
    rb = match cred {
        Cred::None => rb,
        Cred::Bearer(k) => rb.bearer_auth(k),
        Cred::RawAuthorization(v) => rb.header("authorization", v),
        Cred::RawAuthorizationWithSession(v, s) => rb
            .header("authorization", v)
            .header("cookie", format!("op_session={s}")),
        Cred::Session(s) => rb.header("cookie", format!("op_session={s}")),
        Cred::BearerWithXff(k, ip) => rb.bearer_auth(k).header("x-forwarded-for", *ip),
    };
    if let Some(b) = body {
        rb = rb.json(b);
    }
    send(rb).await
}
