//! \[EXT\] Tenant provisioning (API.md §5) end to end: the SDK's `client.platform()` and
//! the real `openpartner platform …` binary against the in-process server in multi mode.

use futures::TryStreamExt;
use openpartner::{Client, Credentials, Error};
use openpartner_e2e::{requires_extensions, Env, ADMIN_KEY};
use serde_json::Value;

const PLATFORM_KEY: &str = "e2e-platform-key";

fn multi() -> Env {
    Env::start_with(|c| {
        c.tenancy = openpartner_mock::Tenancy::Multi;
        c.tenants = vec!["acme".into()];
        c.platform_key = Some(PLATFORM_KEY.into());
    })
}

fn platform_client(env: &Env) -> Client {
    env.client_with(Credentials::api_key(PLATFORM_KEY))
}

/// A client of tenant `slug` with `credentials`.
fn tenant_client(env: &Env, slug: &str, credentials: Credentials) -> Client {
    Client::builder()
        .base_url(env.base_url.as_str())
        .tenant(slug)
        .credentials(credentials)
        .build()
        .expect("client")
}

#[track_caller]
fn assert_api(err: Error, status: u16, code: &str) {
    match &err {
        Error::Api {
            status: s, code: c, ..
        } => {
            assert_eq!((*s, c.as_str()), (status, code), "{err}");
        }
        other => panic!("expected Error::Api {status} {code}, got {other:?}"),
    }
}

#[test]
fn sdk_provisions_pages_and_hands_over_a_tenant() {
    if requires_extensions(
        "platform",
        "/platform/* is served only with extensions on (API.md §5)",
    ) {
        return;
    }
    let env = multi();
    let p = platform_client(&env).platform();
    env.block_on(async {
        let t = p
            .create_tenant("globex", "Globex Corp", Some("crm-globex".into()))
            .await
            .expect("create");
        assert_eq!(
            (t.slug.as_str(), t.display_name.as_str()),
            ("globex", "Globex Corp")
        );
        assert_eq!(t.external_id.as_deref(), Some("crm-globex"));
        for i in 0..4 {
            p.create_tenant(format!("t{i}"), format!("T{i}"), None)
                .await
                .expect("create");
        }
        // paging with the total: acme + globex + t0..t3, oldest first
        let first = p.list_tenants(Some(2), None).await.expect("page");
        assert_eq!(first.total, Some(6));
        assert_eq!((first.page.limit, first.page.offset), (2, 0));
        assert_eq!(first.page.items.len(), 2);
        let last = p.list_tenants(Some(4), Some(4)).await.expect("page");
        assert_eq!(last.page.items.len(), 2);
        assert_eq!(last.total, Some(6));
        let all: Vec<_> = p.all_tenants(Some(4)).try_collect().await.expect("all");
        let slugs: Vec<&str> = all.iter().map(|t| t.slug.as_str()).collect();
        assert_eq!(slugs, ["acme", "globex", "t0", "t1", "t2", "t3"]);
        // exactly 6 rows in pages of 3: the total ends the listing without an empty page
        let all3: Vec<_> = p.all_tenants(Some(3)).try_collect().await.expect("all");
        assert_eq!(all3.len(), 6);

        assert_eq!(p.tenant_by_external_id("crm-globex").await.expect("get"), t);

        // the admin key works on the new tenant at once
        let key = p
            .create_admin_key(&t.id, Some("bootstrap".into()))
            .await
            .expect("key");
        let admin = tenant_client(&env, "globex", Credentials::api_key(key.plaintext.expose()));
        admin
            .partners()
            .create("p@globex.example", "P")
            .send()
            .await
            .expect("partner in the new tenant");
        let partners = admin.partners().list().send().await.expect("list");
        assert_eq!(partners.items.len(), 1);

        // login link → verify on the tenant → an admin session that works
        let link = p
            .login_link(&t.id, "owner@globex.example")
            .await
            .expect("link");
        let url = link.url.expose().to_owned();
        assert!(
            url.starts_with(&format!("{}/t/globex/auth/magic?token=opml_", env.base_url)),
            "{url}"
        );
        let token = url.split("token=").nth(1).expect("token").to_owned();
        let anon = Client::builder()
            .base_url(env.base_url.as_str())
            .tenant("globex")
            .build()
            .expect("client");
        let login = anon.auth().verify_magic_link(&token).await.expect("verify");
        assert_eq!(
            login.admin.as_ref().map(|a| a.email.as_str()),
            Some("owner@globex.example")
        );
        let session = anon.with_credentials(login.session.clone());
        let me = session.auth().whoami().await.expect("whoami");
        assert_eq!(me.source.as_deref(), Some("session"));
        assert_eq!(
            session
                .partners()
                .list()
                .send()
                .await
                .expect("list")
                .items
                .len(),
            1
        );
        // single use
        assert_api(
            anon.auth().verify_magic_link(&token).await.unwrap_err(),
            400,
            "invalid_or_expired_token",
        );
    });
}

#[test]
fn sdk_maps_every_platform_error() {
    if requires_extensions(
        "platform",
        "/platform/* is served only with extensions on (API.md §5)",
    ) {
        return;
    }
    let env = multi();
    let p = platform_client(&env).platform();
    env.block_on(async {
        let t = p
            .create_tenant("globex", "Globex", Some("crm-1".into()))
            .await
            .expect("create");
        assert_api(
            p.create_tenant("globex", "Again", None).await.unwrap_err(),
            409,
            "slug_taken",
        );
        assert_api(
            p.create_tenant("other", "Other", Some("crm-1".into()))
                .await
                .unwrap_err(),
            409,
            "external_id_taken",
        );
        for reserved in ["platform", "admin", "default", "Bad_Slug"] {
            assert_api(
                p.create_tenant(reserved, "X", None).await.unwrap_err(),
                400,
                "invalid_body",
            );
        }
        for limit in [0, 101] {
            assert_api(
                p.list_tenants(Some(limit), None).await.unwrap_err(),
                400,
                "invalid_query",
            );
        }
        for unknown in [
            p.tenant_by_external_id("nope").await.map(|_| ()),
            p.create_admin_key("nope", None).await.map(|_| ()),
            p.login_link("nope", "a@b.example").await.map(|_| ()),
        ] {
            assert_api(unknown.unwrap_err(), 404, "not_found");
        }
        // a revoked admin: two admins through login links, the tenant's key revokes one
        p.login_link(&t.id, "keep@globex.example")
            .await
            .expect("link");
        p.login_link(&t.id, "gone@globex.example")
            .await
            .expect("link");
        let key = p.create_admin_key(&t.id, None).await.expect("key");
        let admin = tenant_client(&env, "globex", Credentials::api_key(key.plaintext.expose()));
        let gone = admin
            .admins()
            .list()
            .await
            .expect("admins")
            .into_iter()
            .find(|a| a.email == "gone@globex.example")
            .expect("admin");
        admin.admins().revoke(&gone.id).await.expect("revoke");
        assert_api(
            p.login_link(&t.id, "gone@globex.example")
                .await
                .unwrap_err(),
            409,
            "admin_revoked",
        );
        // only the platform key: the bootstrap admin key and a tenant admin key get 401
        for creds in [
            Credentials::api_key(ADMIN_KEY),
            Credentials::api_key(key.plaintext.expose()),
        ] {
            assert_api(
                env.client_with(creds)
                    .platform()
                    .list_tenants(None, None)
                    .await
                    .unwrap_err(),
                401,
                "unauthorized",
            );
        }
        // …and the platform key is no admin key of a tenant
        let wrong = tenant_client(&env, "globex", Credentials::api_key(PLATFORM_KEY));
        assert_api(
            wrong.partners().list().send().await.unwrap_err(),
            401,
            "unauthorized",
        );
    });
}

#[test]
fn sdk_without_the_extension_fails_before_sending() {
    let env = Env::start_with(|c| c.platform_key = Some(PLATFORM_KEY.into())); // single mode
    let err = env
        .block_on(platform_client(&env).platform().list_tenants(None, None))
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
}

/// The CLI with the platform key in `OPENPARTNER_PLATFORM_KEY`.
fn platform_cli(env: &Env) -> assert_cmd::Command {
    let mut cmd = env.cli_bare();
    cmd.env("OPENPARTNER_PLATFORM_KEY", PLATFORM_KEY)
        .env("OPENPARTNER_BASE_URL", &env.base_url);
    cmd
}

fn stdout_of(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8")
}

fn json_of(cmd: &mut assert_cmd::Command) -> Value {
    let text = stdout_of(cmd);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn cli_provisions_a_tenant_and_hands_it_over() {
    if requires_extensions(
        "platform",
        "/platform/* is served only with extensions on (API.md §5)",
    ) {
        return;
    }
    let env = multi();
    let t = json_of(platform_cli(&env).args([
        "platform",
        "tenants",
        "create",
        "--slug",
        "globex",
        "--name",
        "Globex",
        "--external-id",
        "crm-globex",
        "-o",
        "json",
    ]));
    assert_eq!(t["slug"], "globex");
    let id = t["id"].as_str().expect("id").to_owned();
    for i in 0..3 {
        platform_cli(&env)
            .args([
                "platform",
                "tenants",
                "create",
                "--slug",
                &format!("t{i}"),
                "--name",
                &format!("T{i}"),
            ])
            .assert()
            .success();
    }
    // a taken slug → 409 → exit 6
    platform_cli(&env)
        .args([
            "platform", "tenants", "create", "--slug", "globex", "--name", "Again",
        ])
        .assert()
        .code(6)
        .stderr(predicates::str::contains("slug_taken"));

    // list: one page as JSON (the range and total on stderr), every page as CSV
    let out = platform_cli(&env)
        .args(["platform", "tenants", "list", "--limit", "2", "-o", "json"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let page: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(page.len(), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Tenants 1-2 of 5."));
    let csv = stdout_of(platform_cli(&env).args([
        "platform", "tenants", "list", "--all", "--limit", "2", "-o", "csv",
    ]));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,slug,displayName,externalId,createdAt");
    let slugs: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(1).expect("slug"))
        .collect();
    assert_eq!(slugs, ["acme", "globex", "t0", "t1", "t2"]);
    assert!(lines[2].contains(",crm-globex,"), "{csv}");

    let got = json_of(platform_cli(&env).args([
        "platform",
        "tenants",
        "get",
        "--external-id",
        "crm-globex",
        "-o",
        "json",
    ]));
    assert_eq!(got["id"], id.as_str());
    platform_cli(&env)
        .args(["platform", "tenants", "get", "--external-id", "nope"])
        .assert()
        .code(3);

    // api-keys create → the key works with --tenant <slug>
    let k = json_of(platform_cli(&env).args([
        "platform",
        "tenants",
        "api-keys",
        "create",
        &id,
        "--label",
        "bootstrap",
        "-o",
        "json",
    ]));
    let key = k["plaintext"].as_str().expect("plaintext").to_owned();
    env.cli_with_key(&key)
        .args([
            "--tenant",
            "globex",
            "partners",
            "create",
            "--email",
            "p@globex.example",
            "--name",
            "P",
        ])
        .assert()
        .success();
    // the old spelling still works
    platform_cli(&env)
        .args(["platform", "admin-keys", "create", &id, "-o", "json"])
        .assert()
        .success();

    // login-link → a URL on the tenant's portal that signs the admin in
    let l = json_of(platform_cli(&env).args([
        "platform",
        "tenants",
        "login-link",
        &id,
        "--email",
        "owner@globex.example",
        "-o",
        "json",
    ]));
    let url = l["url"].as_str().expect("url").to_owned();
    assert!(url.starts_with(&format!("{}/t/globex/auth/magic?token=opml_", env.base_url)));
    let anon = Client::builder()
        .base_url(env.base_url.as_str())
        .tenant("globex")
        .build()
        .expect("client");
    let token = url.split("token=").nth(1).expect("token").to_owned();
    let login = env
        .block_on(anon.auth().verify_magic_link(&token))
        .expect("verify");
    assert!(login.admin.is_some());
    platform_cli(&env)
        .args([
            "platform",
            "tenants",
            "login-link",
            "nope",
            "--email",
            "a@b.example",
        ])
        .assert()
        .code(3);
}

#[test]
fn cli_platform_key_sources() {
    if requires_extensions(
        "platform",
        "/platform/* is served only with extensions on (API.md §5)",
    ) {
        return;
    }
    let env = multi();
    // no platform key anywhere → exit 4 before any request (the admin key is not used)
    env.cli()
        .args(["platform", "tenants", "list"])
        .assert()
        .code(4)
        .stderr(predicates::str::contains("OPENPARTNER_PLATFORM_KEY"));
    // --tenant is refused: /platform/* is outside every tenant
    platform_cli(&env)
        .args(["--tenant", "acme", "platform", "tenants", "list"])
        .assert()
        .code(2);
    // a wrong key → 401 → exit 4
    env.cli_bare()
        .env("OPENPARTNER_PLATFORM_KEY", "wrong")
        .env("OPENPARTNER_BASE_URL", &env.base_url)
        .args(["platform", "tenants", "list"])
        .assert()
        .code(4);
    // stdin
    env.cli_bare()
        .env_remove("OPENPARTNER_PLATFORM_KEY")
        .env("OPENPARTNER_BASE_URL", &env.base_url)
        .args([
            "platform",
            "tenants",
            "list",
            "--platform-key-stdin",
            "-o",
            "json",
        ])
        .write_stdin(format!("{PLATFORM_KEY}\n"))
        .assert()
        .success();
    // a profile's platform secret (the 0600 file under CI), checked at login
    env.cli_bare()
        .env_remove("OPENPARTNER_PLATFORM_KEY")
        .args(["--base-url", &env.base_url, "auth", "login", "--platform"])
        .write_stdin("wrong\n")
        .assert()
        .code(4);
    env.cli_bare()
        .env_remove("OPENPARTNER_PLATFORM_KEY")
        .args(["--base-url", &env.base_url, "auth", "login", "--platform"])
        .write_stdin(format!("{PLATFORM_KEY}\n"))
        .assert()
        .success();
    let creds = std::fs::read_to_string(env.path("credentials.toml")).expect("credentials file");
    assert!(
        creds.contains("default/platform"),
        "stored apart from the profile's credential"
    );
    let rows = json_of(
        env.cli_bare()
            .env_remove("OPENPARTNER_PLATFORM_KEY")
            .args(["platform", "tenants", "list", "-o", "json"]),
    );
    assert_eq!(rows.as_array().map(Vec::len), Some(1));
    // logout forgets it
    env.cli_bare().args(["auth", "logout"]).assert().success();
    env.cli_bare()
        .env_remove("OPENPARTNER_PLATFORM_KEY")
        .args(["platform", "tenants", "list"])
        .assert()
        .code(4);
}
