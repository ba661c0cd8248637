//! End-to-end tests of the commands that cover the rest of the SDK: `partners get
//! --external-id`, `partners login-link`, `partners programs …` (program grants), `partners
//! snapshot …` (commission snapshots), `partners events` / `partners customers` (offset
//! streams, every output format), `stats --timeseries`, `export --all`, `dev mailbox` /
//! `dev magic-link` and `auth login --magic-link --from-dev-mailbox`, with the real binary
//! against an in-process reference server.

use openpartner_e2e::{base_api_mode, simple_setup, Env, ADMIN_KEY};
use rust_decimal::Decimal;
use serde_json::Value;

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal")
}

fn code(env: &Env, args: &[&str]) -> Option<i32> {
    env.run(args).status.code()
}

fn program(env: &Env, name: &str) -> String {
    let p = env.json(&[
        "programs",
        "create",
        "--name",
        name,
        "--destination-url",
        "https://shop.example.com/",
        "--percent",
        "20",
        "-o",
        "json",
    ]);
    p["id"].as_str().expect("program id").to_string()
}

/// The rows of `partners programs list` as (program id, granted).
fn grants(env: &Env, partner: &str) -> Vec<(String, bool)> {
    let mut rows: Vec<(String, bool)> = env
        .json_rows(&["partners", "programs", "list", partner, "-o", "json"])
        .iter()
        .map(|r| {
            (
                r["id"].as_str().expect("id").to_string(),
                r["granted"].as_bool().expect("granted"),
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn external_id_lookup_and_program_grants() {
    let env = Env::start();
    let (p1, p2) = (program(&env, "One"), program(&env, "Two"));
    if base_api_mode() {
        // API.md §6: without `external-id`, both uses fail before sending.
        for args in [
            &[
                "partners",
                "create",
                "--email",
                "grants@example.com",
                "--name",
                "Grants",
                "--external-id",
                "crm-7",
                "--no-programs",
                "--no-invite",
            ][..],
            &["partners", "get", "--external-id", "crm-7"][..],
        ] {
            let out = env.run(args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(
                stderr.contains("unsupported by this server: external-id"),
                "{args:?}: {stderr}"
            );
        }
        assert!(env.all_partners().is_empty(), "nothing was created");
    }
    let partner = if base_api_mode() {
        let created = env.json(&[
            "partners",
            "create",
            "--email",
            "grants@example.com",
            "--name",
            "Grants",
            "--no-programs",
            "--no-invite",
            "-o",
            "json",
        ]);
        created["id"].as_str().expect("id").to_string()
    } else {
        external_id_lookup(&env)
    };
    program_grants(&env, &partner, &p1, &p2);
}

/// Creates a partner with an external id and finds it by that id; returns its id.
fn external_id_lookup(env: &Env) -> String {
    let created = env.json(&[
        "partners",
        "create",
        "--email",
        "grants@example.com",
        "--name",
        "Grants",
        "--external-id",
        "crm-7",
        "--no-programs",
        "--no-invite",
        "-o",
        "json",
    ]);
    let partner = created["id"].as_str().expect("id").to_string();

    let found = env.json(&["partners", "get", "--external-id", "crm-7", "-o", "json"]);
    assert_eq!(found["id"], partner.as_str());
    assert_eq!(found["externalId"], "crm-7");
    assert_eq!(
        code(env, &["partners", "get", "--external-id", "crm-404"]),
        Some(3)
    );
    assert_eq!(
        code(
            env,
            &["partners", "get", &partner, "--external-id", "crm-7"]
        ),
        Some(2),
        "an id and --external-id together are a usage error"
    );
    partner
}

/// Grants, lists and revokes programs of `partner` (programs `p1`, `p2`, neither granted).
fn program_grants(env: &Env, partner: &str, p1: &str, p2: &str) {
    let mut expected = vec![(p1.to_string(), false), (p2.to_string(), false)];
    expected.sort();
    assert_eq!(grants(env, partner), expected);

    let added = env.json_rows(&["partners", "programs", "grant", partner, p1, "-o", "json"]);
    assert_eq!(added.len(), 1, "{added:?}");
    let mut expected = vec![(p1.to_string(), true), (p2.to_string(), false)];
    expected.sort();
    assert_eq!(grants(env, partner), expected);
    let csv = env.ok(&["partners", "programs", "list", partner, "-o", "csv"]);
    assert_eq!(
        csv.lines().next(),
        Some("id,name,granted,grantSource,grantedAt,destinationUrl,deepLinkAllowedDomains")
    );
    assert_eq!(csv.lines().count(), 3);

    env.ok(&["partners", "programs", "revoke", partner, p1]);
    assert!(grants(env, partner).iter().all(|(_, g)| !g));
    assert_eq!(
        code(env, &["partners", "programs", "revoke", partner, p1]),
        Some(3),
        "revoking a grant that is gone is 404 grant_not_found"
    );
    assert_eq!(
        code(env, &["partners", "programs", "grant", partner]),
        Some(2),
        "grant needs at least one program"
    );
}

#[test]
fn commission_snapshot_get_set_delete() {
    let env = Env::start();
    let p = env.json(&[
        "partners",
        "create",
        "--email",
        "snap@example.com",
        "--name",
        "Snap",
        "--no-invite",
        "-o",
        "json",
    ]);
    let partner = p["id"].as_str().expect("id").to_string();
    let none = env.json(&["partners", "snapshot", "get", &partner, "-o", "json"]);
    assert_eq!(none, Value::Null);
    assert_eq!(
        env.ok(&["partners", "snapshot", "get", &partner, "-o", "csv"]),
        "partnerId,commissionType,commissionValue,recurring,holdbackDays,commissionRules,source,snapshottedAt\n"
    );

    let set = env.json(&[
        "partners",
        "snapshot",
        "set",
        &partner,
        "--percent",
        "25.5",
        "--holdback-days",
        "3",
        "-o",
        "json",
    ]);
    assert_eq!(set["partnerId"], partner.as_str());
    assert_eq!(set["commissionType"], "percent");
    assert_eq!(
        dec(set["commissionValue"].as_str().expect("decimal string")),
        dec("25.5")
    );
    assert_eq!(set["holdbackDays"], 3);
    let got = env.json(&["partners", "snapshot", "get", &partner, "-o", "json"]);
    assert_eq!(got, set, "get returns what set stored");

    // Sub-rules from a file replace the single rule.
    let rules = env.write(
        "snapshot-rules.json",
        r#"[{"trigger":"first","eventType":"sale","type":"fixed","value":7,"currency":"EUR"}]"#,
    );
    let set = env.json(&[
        "partners",
        "snapshot",
        "set",
        &partner,
        "--fixed",
        "7",
        "--no-holdback",
        "--rules-file",
        rules.to_str().expect("path"),
        "-o",
        "json",
    ]);
    assert_eq!(set["commissionType"], "fixed");
    assert_eq!(set["holdbackDays"], Value::Null);
    assert_eq!(set["commissionRules"][0]["trigger"], "first");
    assert_eq!(
        code(&env, &["partners", "snapshot", "set", &partner]),
        Some(2),
        "--percent or --fixed is required"
    );

    env.ok(&["partners", "snapshot", "delete", &partner]);
    let none = env.json(&["partners", "snapshot", "get", &partner, "-o", "json"]);
    assert_eq!(none, Value::Null);
    assert_eq!(
        code(&env, &["partners", "snapshot", "get", "no-such-partner"]),
        Some(3)
    );
}

#[test]
fn login_link_signs_the_partner_in() {
    let env = Env::start();
    let p = env.json(&[
        "partners",
        "create",
        "--email",
        "link@example.com",
        "--name",
        "Link",
        "--no-invite",
        "-o",
        "json",
    ]);
    let partner = p["id"].as_str().expect("id").to_string();
    let out = env.run(&["partners", "login-link", &partner, "-o", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if base_api_mode() {
        // API.md §6: without `login-links` the call fails before sending.
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("unsupported by this server: login-links"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty());
        return;
    }
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("opml_"),
        "the token must not reach stderr: {stderr}"
    );
    let link: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(link["partnerId"], partner.as_str());
    assert!(link["expiresAt"].as_str().is_some_and(|t| t.ends_with('Z')));
    let url = link["url"].as_str().expect("url");
    let token = url.split("token=").nth(1).expect("token in the url");
    assert!(token.starts_with("opml_"), "{url}");
    let login = env
        .block_on(
            env.client()
                .without_credentials()
                .auth()
                .verify_magic_link(token),
        )
        .expect("the link signs in");
    assert_eq!(login.partner.expect("partner").id, partner);
    assert_eq!(
        code(&env, &["partners", "login-link", "no-such-partner"]),
        Some(3)
    );
}

fn track(env: &Env, user: &str, value: &str, ts: &str) {
    env.ok(&[
        "events",
        "track",
        "--user-id",
        user,
        "--type",
        "sale",
        "--value",
        value,
        "--currency",
        "USD",
        "--ts",
        ts,
        "-o",
        "json",
    ]);
}

#[test]
fn partner_events_customers_and_timeseries() {
    let env = Env::start();
    let (_program, partner) = simple_setup(&env, &["--percent", "10"], 3);
    track(&env, "u0", "100.10", "2026-10-05T10:00:00.000Z");
    track(&env, "u1", "50", "2026-10-05T11:00:00.000Z");
    track(&env, "u0", "30.05", "2026-10-06T09:00:00.000Z");

    let rows = env.json_rows(&["partners", "events", &partner, "-o", "json"]);
    assert_eq!(rows.len(), 3, "{rows:?}");
    let total: Decimal = rows.iter().map(|r| dec(&r["value"].to_string())).sum();
    assert_eq!(total, dec("180.15"));
    // Page by page (offset pagination): the same three events, each once.
    let paged = env.json_rows(&[
        "partners",
        "events",
        &partner,
        "--page-size",
        "1",
        "-o",
        "json",
    ]);
    let mut ids: Vec<&str> = paged
        .iter()
        .map(|r| r["eventId"].as_str().expect("id"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "{paged:?}");
    assert_eq!(
        env.json_rows(&["partners", "events", &partner, "--limit", "2", "-o", "json"])
            .len(),
        2
    );
    let nd = env.ok(&[
        "partners",
        "events",
        &partner,
        "--page-size",
        "2",
        "-o",
        "ndjson",
    ]);
    assert_eq!(nd.lines().count(), 3);
    assert!(nd.lines().all(|l| serde_json::from_str::<Value>(l).is_ok()));
    let csv = env.ok(&["partners", "events", &partner, "-o", "csv"]);
    assert_eq!(
        csv.lines().next(),
        Some("eventId,type,value,currency,ts,userId,weight,model,attributionId,click")
    );
    assert_eq!(csv.lines().count(), 4);
    let table = env.ok(&["partners", "events", &partner, "-o", "table"]);
    assert!(table.contains("eventId") && table.contains("u1"), "{table}");
    assert!(env
        .json_rows(&["partners", "events", &partner, "--type", "lead", "-o", "json"])
        .is_empty());
    assert_eq!(
        env.json_rows(&[
            "partners",
            "events",
            &partner,
            "--since",
            "2026-10-06",
            "--until",
            "2026-10-06",
            "-o",
            "json",
        ])
        .len(),
        1,
        "--since D --until D is the whole day D"
    );

    let customers = env.json_rows(&[
        "partners",
        "customers",
        &partner,
        "--page-size",
        "1",
        "-o",
        "json",
    ]);
    assert_eq!(customers.len(), 2, "{customers:?}");
    let u0 = customers
        .iter()
        .find(|c| c["userId"] == "u0")
        .expect("u0 is a customer");
    assert_eq!(u0["eventCount"], 2);
    assert_eq!(dec(&u0["revenue"].to_string()), dec("130.15"));
    let csv = env.ok(&["partners", "customers", &partner, "-o", "csv"]);
    assert_eq!(
        csv.lines().next(),
        Some("userId,eventCount,revenue,firstEventAt,lastEventAt")
    );
    assert_eq!(
        env.ok(&["partners", "customers", &partner, "-o", "ndjson"])
            .lines()
            .count(),
        2
    );

    let buckets = env.json_rows(&[
        "stats",
        "--partner",
        &partner,
        "--timeseries",
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-10",
        "--bucket",
        "day",
        "-o",
        "json",
    ]);
    assert!(!buckets.is_empty());
    let sales: u64 = buckets
        .iter()
        .map(|b| b["sales"].as_u64().expect("sales"))
        .sum();
    let revenue: Decimal = buckets.iter().map(|b| dec(&b["revenue"].to_string())).sum();
    let clicks: u64 = buckets
        .iter()
        .map(|b| b["clicks"].as_u64().expect("clicks"))
        .sum();
    assert_eq!((sales, clicks), (3, 3));
    assert_eq!(revenue, dec("180.15"));
    let csv = env.ok(&[
        "stats",
        "--partner",
        &partner,
        "--timeseries",
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-10",
        "-o",
        "csv",
    ]);
    assert_eq!(
        csv.lines().next(),
        Some("bucket,clicks,leads,sales,revenue,earnings")
    );
    assert_eq!(
        code(&env, &["stats", "--partner", &partner, "--bucket", "day"]),
        Some(2),
        "--bucket needs --timeseries"
    );

    // Partner mode: the partner's own listings without an id; another partner is refused
    // locally (exit 4).
    let key = env.json(&["api-keys", "create-partner", &partner, "-o", "json"]);
    let key = key["plaintext"].as_str().expect("plaintext").to_string();
    let out = env
        .cli_with_key(&key)
        .args(["partners", "events", "-o", "json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let own: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(own.len(), 3);
    let out = env
        .cli_with_key(&key)
        .args(["partners", "customers", "someone-else"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(
        code(&env, &["partners", "events"]),
        Some(2),
        "an admin must name the partner"
    );
}

#[test]
fn export_all_has_every_table() {
    let env = Env::start();
    let (_program, partner) = simple_setup(&env, &["--percent", "10"], 2);
    let all = env.json(&["export", "--all"]);
    assert_eq!(all["schemaVersion"], 2);
    assert!(all["exportedAt"].as_str().is_some());
    let tables = all["tables"].as_object().expect("tables");
    for t in openpartner::ExportTable::ALL {
        assert!(
            tables.contains_key(t.as_str()),
            "missing table {}",
            t.as_str()
        );
    }
    let partners = tables["Partner"].as_array().expect("rows");
    assert_eq!(partners.len(), 1);
    assert_eq!(partners[0]["id"], partner.as_str());
    assert_eq!(tables["Click"].as_array().expect("rows").len(), 2);

    let path = env.path("everything.json");
    env.ok(&["export", "--all", "--out", path.to_str().expect("path")]);
    let from_file: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("file")).expect("json");
    assert_eq!(from_file["tables"]["Partner"], all["tables"]["Partner"]);
    assert_eq!(code(&env, &["export", "--all", "--format", "csv"]), Some(2));
    assert_eq!(code(&env, &["export", "--all", "Partner"]), Some(2));
    assert_eq!(code(&env, &["export"]), Some(2));
}

#[test]
fn dev_mailbox_and_magic_link_login_without_copying() {
    let env = Env::start();
    // A pending partner (invited) and an active one (can sign in).
    env.ok(&[
        "partners",
        "create",
        "--email",
        "invited@example.com",
        "--name",
        "Invited",
        "-o",
        "json",
    ]);
    let active = env.json(&[
        "partners",
        "create",
        "--email",
        "active@example.com",
        "--name",
        "Active",
        "--no-invite",
        "-o",
        "json",
    ]);
    let active = active["id"].as_str().expect("id").to_string();

    let mail = env.json_rows(&[
        "dev",
        "mailbox",
        "--to",
        "INVITED@example.com",
        "-o",
        "json",
    ]);
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["purpose"], "partner_invite");
    let url = mail[0]["url"].as_str().expect("url").to_string();
    assert!(url.contains("token=opml_"), "{url}");
    let printed = env.ok(&["dev", "magic-link", "invited@example.com"]);
    assert_eq!(printed.trim_end(), url);
    assert_eq!(
        code(&env, &["dev", "magic-link", "nobody@example.com"]),
        Some(3)
    );
    assert!(env
        .json_rows(&["dev", "mailbox", "--purpose", "admin-invite", "-o", "json"])
        .is_empty());
    let csv = env.ok(&["dev", "mailbox", "-o", "csv"]);
    assert_eq!(csv.lines().next(), Some("to,subject,purpose,url,body"));
    env.ok(&[
        "partners",
        "create",
        "--email",
        "second@example.com",
        "--name",
        "Second",
        "-o",
        "json",
    ]);
    let all = env.json_rows(&["dev", "mailbox", "-o", "json"]);
    assert_eq!(all.len(), 2);
    let last = env.json_rows(&["dev", "mailbox", "--last", "1", "-o", "json"]);
    assert_eq!(last.len(), 1);
    assert_eq!(
        last[0]["to"], "second@example.com",
        "--last keeps the newest"
    );
    // The links go to stdout only: even -vv (bodies logged) keeps the tokens off stderr.
    let out = env.run(&["-vv", "dev", "mailbox", "-o", "json"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/dev/mailbox"),
        "-vv logs the request: {stderr}"
    );
    let token = url.split("token=").nth(1).expect("token");
    assert!(
        !stderr.contains(token),
        "a sign-in token reached the log: {stderr}"
    );

    // An admin profile that can read the mailbox, then a partner login that takes its link
    // from the mailbox: nothing is pasted.
    let out = env
        .cli_bare()
        .args([
            "--profile",
            "admin",
            "auth",
            "login",
            "--with-token",
            "--base-url",
            &env.base_url,
        ])
        .write_stdin(format!("{ADMIN_KEY}\n"))
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env
        .cli_bare()
        .args([
            "--profile",
            "partner",
            "auth",
            "login",
            "--magic-link",
            "active@example.com",
            "--from-dev-mailbox",
            "--mailbox-profile",
            "admin",
            "--base-url",
            &env.base_url,
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("opml_"), "token echoed: {stderr}");
    let status = env
        .cli_bare()
        .args(["--profile", "partner", "auth", "status", "-o", "json"])
        .output()
        .expect("runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let status: Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(status["credential"], "session");
    assert_eq!(status["role"], "partner");
    assert_eq!(status["partnerId"], active.as_str());

    // With the admin key in the environment instead of a profile.
    let out = env
        .cli()
        .args([
            "--profile",
            "partner2",
            "auth",
            "login",
            "--magic-link",
            "active@example.com",
            "--from-dev-mailbox",
            "--base-url",
            &env.base_url,
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // No account, no mail: exit 4 and nothing stored.
    let out = env
        .cli_bare()
        .args([
            "--profile",
            "ghost",
            "auth",
            "login",
            "--magic-link",
            "ghost@example.com",
            "--from-dev-mailbox",
            "--mailbox-profile",
            "admin",
            "--base-url",
            &env.base_url,
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no sign-in mail"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The mailbox credential must be for the server the login goes to.
    let out = env
        .cli_bare()
        .args([
            "--profile",
            "elsewhere",
            "auth",
            "login",
            "--magic-link",
            "active@example.com",
            "--from-dev-mailbox",
            "--mailbox-profile",
            "admin",
            "--base-url",
            "http://127.0.0.1:9",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}
