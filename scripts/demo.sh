#!/usr/bin/env bash
# Demo: start the reference server on a persistent sandbox, import the example partners
# with the `openpartner` CLI, and show the newest five.
#
#   ./scripts/demo.sh
#
# State lives in ./sandbox.db and the sandbox admin key in ./.sandbox-admin-key (created
# once, mode 0600). Running the script again creates nothing new: every partner already existed.
# Environment: CARGO (default cargo), CARGO_TARGET_DIR (default ./target).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

die() { printf 'demo: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/sandbox.sh
. "$root/scripts/lib/sandbox.sh"

build_binaries
cli=$op
ensure_admin_key "$root/.sandbox-admin-key"
work=$(mktemp -d "${TMPDIR:-/tmp}/openpartner-demo.XXXXXX")
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Starting the reference server (database: ./sandbox.db)"
# Local sandbox: rate limiting off (the import sends one request per row and waits out
# 429s, so it also works with the default 600 requests per 5 minutes; off is just faster).
start_server "$root/sandbox.db" "$work"

say "Importing examples/partners.csv (5 rows are invalid on purpose)"
status=0
"$cli" partners import examples/partners.csv --no-invite || status=$?
case "$status" in
  0) ;;
  5) printf '(exit 5 = some rows invalid or failed; the invalid ones are deliberate)\n' >&2 ;;
  *) die "import failed with exit code $status" ;;
esac

say "The five newest partners"
"$cli" partners list --limit 5 --output table

say "Done. Run ./scripts/demo.sh again: every partner already existed, nothing is created twice."
