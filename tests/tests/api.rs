//! `openpartner api`: raw requests, `--paginate`, fields, exit codes.

use openpartner_e2e::Env;
use serde_json::Value;

#[test]
fn paginate_follows_next_cursor() {
    let env = Env::start();
    let ids = env.create_partners(230, 8);
    let items = env.json_rows(&["api", "GET", "/partners?limit=50", "--paginate"]);
    assert_eq!(items.len(), 230);
    let mut got: Vec<&str> = items
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    got.sort_unstable();
    got.dedup();
    assert_eq!(got.len(), 230, "every partner exactly once");
    assert!(ids.iter().all(|id| got.binary_search(&id.as_str()).is_ok()));

    // NDJSON variant, same count.
    let out = env.ok(&[
        "api",
        "GET",
        "partners",
        "-f",
        "limit=200",
        "--paginate",
        "-o",
        "ndjson",
    ]);
    assert_eq!(out.lines().count(), 230);

    // Without --paginate: the first page as the server sent it.
    let body = env.json(&["api", "GET", "/partners", "-F", "limit=3"]);
    assert_eq!(body["partners"].as_array().map(Vec::len), Some(3));
    assert!(body["nextCursor"].is_string());
}

#[test]
fn post_with_fields_and_error_statuses() {
    let env = Env::start();
    let body = env.json(&[
        "api",
        "POST",
        "/partners",
        "-f",
        "email=raw@example.com",
        "-f",
        "name=Raw Partner",
        "-F",
        "sendInvite=false",
        "-f",
        "metadata[source]=api",
    ]);
    assert_eq!(body["email"], "raw@example.com");
    assert_eq!(body["invited"], false);
    assert_eq!(body["metadata"]["source"], "api");
    assert!(body["activatedAt"].is_string());

    // The same again: 409 body printed on stdout, exit 6.
    let out = env
        .cli()
        .args([
            "api",
            "POST",
            "/partners",
            "-f",
            "email=raw@example.com",
            "-f",
            "name=X",
        ])
        .assert()
        .code(6)
        .get_output()
        .clone();
    let body: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(body["error"], "email_taken");

    // Validation error → 400 → exit 1; unknown route → 404 → exit 3.
    env.cli()
        .args(["api", "POST", "/partners", "-f", "email=nope"])
        .assert()
        .code(1);
    env.cli()
        .args(["api", "GET", "/no-such-route"])
        .assert()
        .code(3);

    // -i prints the status line and headers first.
    let text = env.ok(&["api", "GET", "/health", "-i"]);
    assert!(text.starts_with("HTTP/1.1 200 OK\n"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("x-request-id: "),
        "{text}"
    );
    assert!(text.contains("\"ok\": true"), "{text}");
}
