#!/usr/bin/env bash
# The project's test command (README, "Run the tests"): formatting, lints, every test.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo fmt --check"
cargo fmt --all --check

echo "==> cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test (unit, integration, end-to-end, doc tests)"
cargo test --workspace --locked

echo "==> scripts/crash-import.sh (SIGKILL during imports: exactly-once, debug binaries)"
SANDBOX_PROFILE=debug ./scripts/crash-import.sh

echo "==> Schemathesis against a fresh server's /openapi.json (scripts/schemathesis.sh)"
scripts/schemathesis.sh

echo "==> cargo test -p openpartner-e2e against the base API (every server --no-extensions, API.md §6)"
OPENPARTNER_E2E_NO_EXTENSIONS=1 cargo test -p openpartner-e2e --locked
