//! `auth login | status | logout` against the reference server, without any keyring.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use openpartner_e2e::{cli_path, Env, ADMIN_KEY};
use serde_json::Value;

#[test]
fn ci_login_never_touches_a_keyring_and_never_hangs() {
    let env = Env::start();
    let started = Instant::now();
    env.cli_bare()
        .args(["auth", "login", "--with-token", "--base-url", &env.base_url])
        .write_stdin(format!("{ADMIN_KEY}\n"))
        .timeout(Duration::from_secs(30))
        .assert()
        .success()
        .stderr(predicates::str::contains("credentials.toml"));
    let out = env
        .cli_bare()
        .args(["partners", "list", "-o", "json"])
        .timeout(Duration::from_secs(30))
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(out.stdout, b"[]\n");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );

    let out = env
        .cli_bare()
        .args(["auth", "status", "-o", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let s: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(s["source"], "file");
    assert_eq!(s["role"], "admin");
    assert_eq!(s["unrestricted"], true);
    assert_eq!(s["baseUrl"], env.base_url);
}

#[test]
fn unreachable_dbus_falls_back_to_the_file_quickly() {
    // Not CI: the keyring is attempted against a D-Bus address that does not exist; it
    // must fail (or time out after ~3 s) and fall back to the 0600 file.
    let env = Env::start();
    let started = Instant::now();
    let mut cmd = env.cli_bare();
    cmd.env_remove("CI")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/openpartner-test-bus",
        )
        .args(["auth", "login", "--with-token", "--base-url", &env.base_url])
        .write_stdin(format!("{ADMIN_KEY}\n"))
        .timeout(Duration::from_secs(30))
        .assert()
        .success();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let cred = env.config_dir.path().join("credentials.toml");
    let text = std::fs::read_to_string(&cred).expect("fallback file written");
    assert!(text.contains(ADMIN_KEY));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cred).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn status_with_env_key_reports_env_source() {
    let env = Env::start();
    let s = env.json(&["auth", "status", "-o", "json"]);
    assert_eq!(s["source"], "env");
    assert_eq!(s["profile"], Value::Null);
    assert_eq!(s["credential"], "api_key");
    // Nothing was written anywhere.
    assert!(!env.config_dir.path().join("credentials.toml").exists());
    assert!(!env.config_dir.path().join("config.toml").exists());
}

#[test]
fn scoped_key_status_lists_scopes() {
    let env = Env::start();
    let key = env.block_on(async {
        env.client()
            .api_keys()
            .create_scoped(vec!["partners:read".into(), "events:write".into()])
            .send()
            .await
            .expect("scoped key")
    });
    let out = env
        .cli()
        .env("OPENPARTNER_API_KEY", key.plaintext.expose())
        .args(["auth", "status", "-o", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let s: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(s["role"], "scoped");
    assert_eq!(
        s["scopes"],
        serde_json::json!(["partners:read", "events:write"])
    );
    // partners:read allows listing, not creating (403 → exit 4).
    env.cli()
        .env("OPENPARTNER_API_KEY", key.plaintext.expose())
        .args(["partners", "list", "-o", "json"])
        .assert()
        .success();
    env.cli()
        .env("OPENPARTNER_API_KEY", key.plaintext.expose())
        .args([
            "partners",
            "create",
            "--email",
            "x@example.com",
            "--name",
            "X",
        ])
        .assert()
        .code(4)
        .stderr(predicates::str::contains("forbidden_scope"));
}

/// Magic-link login: the CLI asks for a link, the test reads it from the dev mailbox and
/// pastes the whole URL on the CLI's stdin; the session is stored, works, and logout
/// revokes it on the server.
#[test]
fn magic_link_login_stores_a_working_session() {
    let env = Env::start();
    // An activated admin with an email: create, then accept the invite.
    let email = "ops@example.com";
    env.block_on(async {
        let client = env.client();
        client.admins().create(email, "Ops").await.expect("admin");
        let mail = client.dev().mailbox().await.expect("mailbox");
        let token = mail
            .iter()
            .rev()
            .find(|m| m.to == email)
            .and_then(|m| m.metadata.token.clone())
            .expect("invite token");
        client
            .without_credentials()
            .auth()
            .verify_magic_link(token.expose())
            .await
            .expect("invite accepted");
    });
    let before = env.block_on(async { env.client().dev().mailbox().await.expect("mailbox").len() });

    let mut child = std::process::Command::new(cli_path())
        .env_remove("OPENPARTNER_API_KEY")
        .env_remove("OPENPARTNER_BASE_URL")
        .env_remove("OPENPARTNER_PROFILE")
        .env("OPENPARTNER_CONFIG_DIR", env.config_dir.path())
        .env("CI", "1")
        .args([
            "auth",
            "login",
            "--magic-link",
            email,
            "--base-url",
            &env.base_url,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait for the sign-in mail.
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = loop {
        let mail = env.block_on(async { env.client().dev().mailbox().await.expect("mailbox") });
        if mail.len() > before {
            let m = mail.last().expect("mail");
            assert_eq!(m.to, email);
            break m.metadata.url.clone().expect("link url");
        }
        assert!(Instant::now() < deadline, "no sign-in mail");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(url.contains("token=opml_"), "{url}");
    {
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{url}").expect("write url");
    }
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("opml_"), "token echoed: {stderr}");

    let cred = std::fs::read_to_string(env.config_dir.path().join("credentials.toml"))
        .expect("session stored");
    assert!(cred.contains("ops_"), "session token stored");
    let config =
        std::fs::read_to_string(env.config_dir.path().join("config.toml")).expect("config");
    assert!(config.contains("credential = \"session\""), "{config}");

    let out = env
        .cli_bare()
        .args(["auth", "status", "-o", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let s: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(s["credential"], "session");
    assert_eq!(s["role"], "admin");

    // The session works for admin routes, then logout revokes it on the server.
    env.cli_bare()
        .args(["admins", "list", "-o", "json"])
        .assert()
        .success();
    let session = cred
        .split('"')
        .find(|s| s.starts_with("ops_"))
        .expect("token in file")
        .to_string();
    env.cli_bare().args(["auth", "logout"]).assert().success();
    let client = env.client_with(openpartner::Credentials::session(session));
    let err = env
        .block_on(async move { client.auth().introspect().await })
        .expect_err("session revoked by logout");
    assert_eq!(err.status(), Some(401));
}
