//! Black-box tests of the `openpartner` binary that need no real server: help, exit codes,
//! completions, usage errors, CSV validation, credential precedence and the keyring-free
//! (CI) credential file. HTTP is served by wiremock where a response is needed.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ADMIN_KEY: &str = "op_0123456789abcdef0123456789abcdef0123456789abcdef";
const OTHER_KEY: &str = "op_fedcba9876543210fedcba9876543210fedcba9876543210";

/// The binary with a clean, isolated environment: its own config dir, no keyring.
fn cli(config_dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("openpartner").expect("binary built");
    for var in [
        "OPENPARTNER_API_KEY",
        "OPENPARTNER_BASE_URL",
        "OPENPARTNER_TENANT",
        "OPENPARTNER_PROFILE",
        "OPENPARTNER_NO_KEYRING",
        "NO_COLOR",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("OPENPARTNER_CONFIG_DIR", config_dir)
        .env("CI", "1")
        .timeout(std::time::Duration::from_secs(60));
    cmd
}

fn partner_row(id: &str, email: &str) -> Value {
    json!({
        "id": id, "tenantId": "01J0000000DEFAULTTENANT0000", "email": email, "name": "P",
        "externalId": null, "stripeConnectAccountId": null, "metadata": {},
        "createdAt": "2026-11-20T10:30:00.000Z", "updatedAt": "2026-11-20T10:30:00.000Z",
        "activatedAt": null, "revokedAt": null, "revokeReason": null
    })
}

#[test]
fn help_lists_the_nouns() {
    let dir = tempfile::tempdir().expect("tempdir");
    cli(dir.path()).arg("--help").assert().success().stdout(
        predicate::str::contains("partners")
            .and(predicate::str::contains("api-keys"))
            .and(predicate::str::contains("admins"))
            .and(predicate::str::contains("completion"))
            .and(predicate::str::contains("--output")),
    );
}

#[test]
fn help_exit_codes_documents_every_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cli(dir.path())
        .args(["help", "exit-codes"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).expect("utf8");
    for (code, word) in [
        ("0", "success"),
        ("2", "usage"),
        ("3", "not found"),
        ("4", "authentication"),
        ("5", "rate limited"),
        ("6", "conflict"),
        ("130", "interrupted"),
    ] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{code} ")))
            .unwrap_or_else(|| panic!("no line for exit code {code}:\n{text}"));
        assert!(line.contains(word), "{line}");
    }
}

#[test]
fn help_for_a_nested_command_and_unknown_topic() {
    let dir = tempfile::tempdir().expect("tempdir");
    cli(dir.path())
        .args(["help", "partners", "import"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--dry-run").and(predicate::str::contains("--concurrency")),
        );
    cli(dir.path())
        .args(["help", "nonsense"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("error: unknown help topic"));
}

#[test]
fn completions_for_every_shell() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (shell, marker) in [
        ("bash", "_openpartner()"),
        ("zsh", "#compdef openpartner"),
        ("fish", "complete -c openpartner"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[openpartner]"),
    ] {
        let out = cli(dir.path())
            .args(["completion", shell])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.contains(marker), "{shell}: missing {marker}");
        assert!(text.contains("api-keys"), "{shell}: no subcommands");
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    cli(dir.path()).assert().code(2);
    cli(dir.path()).args(["partners"]).assert().code(2);
    cli(dir.path())
        .args(["partners", "list", "--output", "xml"])
        .assert()
        .code(2);
    cli(dir.path())
        .args(["partners", "list", "--page-size", "500"])
        .assert()
        .code(2);
    cli(dir.path()).args(["frobnicate"]).assert().code(2);
    // Not a clap error, but a configuration one: no base URL anywhere.
    cli(dir.path())
        .args(["partners", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no base URL"));
    // Env key without a base URL.
    cli(dir.path())
        .env("OPENPARTNER_API_KEY", ADMIN_KEY)
        .args(["partners", "list"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("OPENPARTNER_BASE_URL")
                .and(predicate::str::contains(ADMIN_KEY).not()),
        );
    // Bad profile name.
    cli(dir.path())
        .args(["--profile", "a b", "partners", "list"])
        .assert()
        .code(2);
}

#[test]
fn not_logged_in_is_exit_4() {
    let dir = tempfile::tempdir().expect("tempdir");
    cli(dir.path())
        .args(["--base-url", "http://127.0.0.1:9", "partners", "list"])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("not logged in"));
}

#[test]
fn csv_validation_reports_line_numbers_without_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("p.csv");
    std::fs::write(
        &file,
        "email,name,external_id,metadata.tier\n\
         ok@example.com,Ok,e1,gold\n\
         broken-email,Bad,e2,\n\
         empty@example.com,,e3,\n\
         OK@example.com,Dup,e4,\n\
         fine@example.com,Fine,e1,\n\
         good@example.com,Good,,silver\n",
    )
    .expect("write");
    let report = dir.path().join("report.csv");
    let assert = cli(dir.path())
        .args(["partners", "import", "--dry-run", "--report"])
        .arg(&report)
        .arg(&file)
        .assert()
        .code(5);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).expect("utf8");
    assert!(
        stderr.contains("line 3: invalid email \"broken-email\""),
        "{stderr}"
    );
    assert!(stderr.contains("line 4: name is empty"), "{stderr}");
    assert!(stderr.contains("line 5: duplicate email"), "{stderr}");
    assert!(
        stderr.contains("line 6: duplicate external_id \"e1\" (first on line 2)"),
        "{stderr}"
    );
    assert!(stderr.contains("6 row(s), 2 valid, 4 invalid"), "{stderr}");
    let text = std::fs::read_to_string(&report).expect("report");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "line,outcome,id,reason");
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[1].starts_with("3,invalid,,"), "{text}");

    // A clean file passes the dry run with exit 0 and sends nothing (no server exists).
    let clean = dir.path().join("clean.csv");
    std::fs::write(&clean, "email,name\na@example.com,A\nb@example.com,B\n").expect("write");
    cli(dir.path())
        .args(["partners", "import", "--dry-run"])
        .arg(&clean)
        .assert()
        .success()
        .stderr(predicate::str::contains("2 valid, 0 invalid"));

    // A bad header is a usage error.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "email,nmae\na@example.com,A\n").expect("write");
    cli(dir.path())
        .args(["partners", "import", "--dry-run"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "missing required column `name` (unknown column(s): `nmae`)",
        ));
}

#[test]
fn example_file_has_exactly_five_invalid_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/partners.csv");
    cli(dir.path())
        .args(["partners", "import", "--dry-run"])
        .arg(&file)
        .assert()
        .code(5)
        .stderr(predicate::str::contains("300 row(s), 295 valid, 5 invalid"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_api_key_takes_precedence_over_the_profile() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/partners"))
        .and(header(
            "authorization",
            format!("Bearer {OTHER_KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "partners": [partner_row("P1", "env@example.com")], "nextCursor": null
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/partners"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error":"unauthorized"})))
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().expect("tempdir");
    // A profile logged in with ADMIN_KEY (stored in the credentials file, CI=1).
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[profiles.default]\nbase_url = \"{}\"\ncredential = \"api_key\"\n",
            server.uri()
        ),
    )
    .expect("config");
    std::fs::write(
        dir.path().join("credentials.toml"),
        format!("[profiles.default]\nsecret = \"{ADMIN_KEY}\"\n"),
    )
    .expect("credentials");

    // Profile key → the mock refuses it → exit 4 with one line, no secret.
    let out = cli(dir.path())
        .args(["partners", "list", "-o", "json"])
        .assert()
        .code(4)
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).expect("utf8");
    let error_lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "{stderr}");
    assert!(error_lines[0].contains("401"), "{stderr}");
    assert!(!stderr.contains(ADMIN_KEY), "{stderr}");
    // The hand-written file is 0644 (umask): the CLI warns about it.
    #[cfg(unix)]
    assert!(
        stderr.contains("readable by other users"),
        "loose permissions must be reported: {stderr}"
    );

    // The env key wins (and the file is not even read: no note about it).
    let out = cli(dir.path())
        .env("OPENPARTNER_API_KEY", OTHER_KEY)
        .env("OPENPARTNER_BASE_URL", server.uri())
        .args(["partners", "list", "-o", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let items: Vec<Value> = serde_json::from_slice(&out.stdout).expect("json array");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["email"], "env@example.com");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("credentials.toml"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_token_in_ci_uses_the_0600_file_and_status_reports_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/auth/introspect"))
        .and(header(
            "authorization",
            format!("Bearer {ADMIN_KEY}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"role":"admin","unrestricted":true})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/auth/introspect"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error":"unauthorized"})))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");

    // A wrong key is refused before anything is saved.
    cli(dir.path())
        .args(["auth", "login", "--with-token", "--base-url", &server.uri()])
        .write_stdin(format!("{OTHER_KEY}\n"))
        .assert()
        .code(4)
        .stderr(predicate::str::contains(OTHER_KEY).not());
    assert!(!dir.path().join("credentials.toml").exists());

    let started = std::time::Instant::now();
    cli(dir.path())
        // A bus address that would make any keyring call fail: CI=1 must skip it
        // entirely (no "keyring could not store" note).
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .args(["auth", "login", "--with-token", "--base-url", &server.uri()])
        .write_stdin(format!("{ADMIN_KEY}\n"))
        .assert()
        .success()
        .stderr(
            predicate::str::contains("because CI is set")
                .and(predicate::str::contains("keyring could not").not())
                .and(predicate::str::contains("credentials.toml"))
                .and(predicate::str::contains("0600"))
                .and(predicate::str::contains(ADMIN_KEY).not()),
        );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "no keyring wait in CI"
    );

    let cred_path = dir.path().join("credentials.toml");
    let text = std::fs::read_to_string(&cred_path).expect("credentials file");
    assert!(text.contains(ADMIN_KEY));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cred_path)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "credentials.toml mode {mode:o}");
    }
    let config = std::fs::read_to_string(dir.path().join("config.toml")).expect("config");
    assert!(config.contains(&server.uri()), "{config}");
    assert!(
        !config.contains(ADMIN_KEY),
        "secret leaked into config.toml"
    );

    let out = cli(dir.path())
        .args(["auth", "status", "-o", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let status: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(status["role"], "admin");
    assert_eq!(status["source"], "file");
    assert_eq!(status["profile"], "default");
    assert_eq!(status["baseUrl"], server.uri());
    assert_eq!(status["unrestricted"], true);

    // Logout deletes the stored secret.
    cli(dir.path()).args(["auth", "logout"]).assert().success();
    let text = std::fs::read_to_string(&cred_path).expect("credentials file");
    assert!(!text.contains(ADMIN_KEY));
    cli(dir.path()).args(["auth", "status"]).assert().code(4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_command_prints_body_and_maps_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/partners"))
        .and(query_param("email", "a+b@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "partners": [partner_row("P9", "a+b@example.com")], "nextCursor": null
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/partners/missing"))
        .respond_with(
            ResponseTemplate::new(404)
                .insert_header("x-request-id", "req-123")
                .set_body_json(json!({"error":"not_found"})),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = cli(dir.path())
        .env("OPENPARTNER_API_KEY", ADMIN_KEY)
        .env("OPENPARTNER_BASE_URL", server.uri())
        .args(["api", "GET", "/partners", "-f", "email=a+b@example.com"])
        .assert()
        .success()
        .get_output()
        .clone();
    let body: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(body["partners"][0]["id"], "P9");

    let out = cli(dir.path())
        .env("OPENPARTNER_API_KEY", ADMIN_KEY)
        .env("OPENPARTNER_BASE_URL", server.uri())
        .args(["api", "GET", "partners/missing"])
        .assert()
        .code(3)
        .get_output()
        .clone();
    let body: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(body["error"], "not_found");
    let stderr = String::from_utf8(out.stderr).expect("utf8");
    assert_eq!(
        stderr.trim_end(),
        "error: API error 404 not_found (request id req-123)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_mask_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/partners"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "partners": [], "nextCursor": null
        })))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    for flag in ["-v", "-vv"] {
        let out = cli(dir.path())
            .env("OPENPARTNER_API_KEY", ADMIN_KEY)
            .env("OPENPARTNER_BASE_URL", server.uri())
            .args([flag, "partners", "list", "-o", "csv"])
            .assert()
            .success()
            .get_output()
            .clone();
        let stderr = String::from_utf8(out.stderr).expect("utf8");
        assert!(
            stderr.contains("/partners"),
            "{flag}: no HTTP log: {stderr}"
        );
        assert!(!stderr.contains(ADMIN_KEY), "{flag}: key leaked: {stderr}");
        assert!(
            !stderr.contains(&ADMIN_KEY[10..]),
            "{flag}: key tail leaked"
        );
        // CSV with header even for an empty listing; logs never reach stdout.
        let stdout = String::from_utf8(out.stdout).expect("utf8");
        assert!(
            stdout.starts_with("id,email,name,externalId,tenantId"),
            "{stdout}"
        );
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
    }
}
