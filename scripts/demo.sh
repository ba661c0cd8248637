#!/usr/bin/env bash
# Demo: start the reference server on a persistent sandbox, import the example partners
# with the `openpartner` CLI, and show the newest five.
#
#   ./scripts/demo.sh
#
# State lives in ./sandbox.db and the sandbox admin key in ./.sandbox-admin-key (created
# once, mode 0600). Running the script again creates nothing new: every partner is skipped.
# Environment: CARGO (default cargo), CARGO_TARGET_DIR (default ./target).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

cargo_bin=${CARGO:-cargo}
target_dir=${CARGO_TARGET_DIR:-$root/target}

say "Building openpartner-mock and openpartner (release; the first build takes a few minutes)"
"$cargo_bin" build --release --quiet -p openpartner-mock -p openpartner-cli \
  || die "cargo build failed"
mock="$target_dir/release/openpartner-mock"
cli="$target_dir/release/openpartner"
[ -x "$mock" ] || die "missing $mock"
[ -x "$cli" ] || die "missing $cli"

key_file="$root/.sandbox-admin-key"
if [ ! -s "$key_file" ]; then
  say "Generating a sandbox admin key in $key_file"
  umask 077
  key="op_$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$key" > "$key_file"
fi
admin_key=$(head -n1 "$key_file")
[ -n "$admin_key" ] || die "$key_file is empty; delete it and run again"

work=$(mktemp -d "${TMPDIR:-/tmp}/openpartner-demo.XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Starting the reference server (database: ./sandbox.db)"
# Local sandbox: rate limiting off, the import makes about two requests per row.
"$mock" --port 0 --db "$root/sandbox.db" --admin-key "$admin_key" --rate-limit off \
  > "$work/server.out" 2> "$work/server.err" &
server_pid=$!

base_url=""
for _ in $(seq 1 100); do
  if [ -s "$work/server.out" ]; then
    base_url=$(head -n1 "$work/server.out" | tr -d '\r')
    [ -n "$base_url" ] && break
  fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.err" >&2; die "the server exited early"; }
  sleep 0.1
done
[ -n "$base_url" ] || die "the server did not print its address within 10 s"
printf 'Server listening at %s\n' "$base_url" >&2

export OPENPARTNER_BASE_URL="$base_url"
export OPENPARTNER_API_KEY="$admin_key"
unset OPENPARTNER_TENANT

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

say "Done. Run ./scripts/demo.sh again: every partner is skipped, nothing is created twice."
