#!/usr/bin/env bash
# The main job: one command, from a fresh clone to a commission report.
#
#   ./scripts/main-job.sh
#
# Builds the release binaries, starts the reference server on a free port with its
# database under ./sandbox/ (rate limit off), and runs the whole partner-program flow with
# the real `openpartner` CLI on the sample data:
#   1. onboard partners from examples/partners.csv (5 rows are invalid on purpose);
#   2. create two programs ("Spring referral": 20 %, no holdback; "Annual plans": fixed
#      3.00 per purchase from a rules file, 30-day holdback) and 60 tracking links;
#   3. replay 1,500 clicks (POST /clicks), 110 identifies and 1,310 conversion events from
#      examples/data/;
#   4. approve every matured commission (Annual ones are still in holdback and are
#      reported as "not mature"), run payouts;
#   5. write a commission report CSV (per partner and currency) and print where it went.
#
# Re-running it doubles nothing: partners are skipped (known external ids), programs are
# found by name, links exist (exit 6 = conflict, treated as done), clicks are replays of
# the same click ids, identifies are existing pairs, events are sent with the same
# idempotency keys and answered as replays, there is nothing left to approve, and the
# payout run finds no approved commission. The report is identical.
# (The server allows 120 identify calls per minute per IP: a re-run within a minute waits
# for Retry-After during the identify step.)
#
# Environment: CARGO (default cargo), CARGO_TARGET_DIR (default ./target), SANDBOX
# (default ./sandbox).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
sandbox=${SANDBOX:-$root/sandbox}
mkdir -p "$sandbox"

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'main-job: %s\n' "$*" >&2; exit 1; }

cargo_bin=${CARGO:-cargo}
target_dir=${CARGO_TARGET_DIR:-$root/target}

say "Building openpartner-mock and openpartner (release; the first build takes a few minutes)"
"$cargo_bin" build --release --quiet -p openpartner-mock -p openpartner-cli \
  || die "cargo build failed"
mock="$target_dir/release/openpartner-mock"
op="$target_dir/release/openpartner"
[ -x "$mock" ] || die "missing $mock"
[ -x "$op" ] || die "missing $op"

key_file="$sandbox/admin-key"
if [ ! -s "$key_file" ]; then
  umask 077
  printf 'op_%s\n' "$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')" > "$key_file"
  umask 022
fi
admin_key=$(head -n1 "$key_file")
[ -n "$admin_key" ] || die "$key_file is empty; delete it and run again"

server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "Starting the reference server (database: $sandbox/main-job.db, rate limit off)"
"$mock" --port 0 --db "$sandbox/main-job.db" --admin-key "$admin_key" --rate-limit off \
  --log warn > "$sandbox/server.out" 2> "$sandbox/server.err" &
server_pid=$!
base_url=""
for _ in $(seq 1 100); do
  if [ -s "$sandbox/server.out" ]; then
    base_url=$(head -n1 "$sandbox/server.out" | tr -d '\r')
    [ -n "$base_url" ] && break
  fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$sandbox/server.err" >&2; die "the server exited early"; }
  sleep 0.1
done
[ -n "$base_url" ] || die "the server did not print its address within 10 s"
printf 'Server listening at %s\n' "$base_url" >&2

export OPENPARTNER_BASE_URL="$base_url"
export OPENPARTNER_API_KEY="$admin_key"
unset OPENPARTNER_TENANT OPENPARTNER_PROFILE

# Runs the CLI visibly; exit codes listed after the command are accepted.
run() {
  local ok=" 0 "
  while [ "$1" != "--" ]; do ok="$ok$1 "; shift; done
  shift
  printf '$ openpartner %s\n' "$*" >&2
  local status=0
  "$op" "$@" || status=$?
  case "$ok" in *" $status "*) return 0 ;; esac
  die "openpartner $1 $2 failed with exit code $status"
}

say "1. Onboarding partners from examples/partners.csv"
run 5 -- partners import examples/partners.csv --no-invite --report "$sandbox/partners-import.csv" > /dev/null
printf '(exit 5 is expected: five rows of the sample are invalid on purpose; per-row report: %s)\n' \
  "$sandbox/partners-import.csv" >&2

# externalId -> partner id, from the streamed NDJSON listing.
"$op" partners list --output ndjson \
  | sed -n 's/.*"id":"\([^"]*\)".*"externalId":"\([^"]*\)".*/\2 \1/p' > "$sandbox/partner-ids.txt"
partner_id() { awk -v e="$1" '$1 == e { print $2; exit }' "$sandbox/partner-ids.txt"; }

say "2. Programs and links"
program_id() {
  "$op" programs list --output ndjson \
    | { grep -F "\"name\":\"$1\"" || true; } | head -n1 | sed -n 's/^{"id":"\([^"]*\)".*/\1/p'
}
spring=$(program_id "Spring referral")
if [ -z "$spring" ]; then
  run -- programs create --name "Spring referral" --destination-url https://shop.example.com/ \
    --percent 20 --model last-click --window-days 60 --holdback-days 0 --output table
  spring=$(program_id "Spring referral")
else
  printf 'program "Spring referral" exists: %s\n' "$spring" >&2
fi
annual=$(program_id "Annual plans")
if [ -z "$annual" ]; then
  run -- programs create --name "Annual plans" --destination-url https://shop.example.com/annual \
    --rules-file examples/data/rules-annual.json --model last-click --window-days 60 \
    --holdback-days 30 --output table
  annual=$(program_id "Annual plans")
else
  printf 'program "Annual plans" exists: %s\n' "$annual" >&2
fi
[ -n "$spring" ] && [ -n "$annual" ] || die "could not find the programs"

made=0; existing=0
# examples/data/links.csv: external_id,link_key,program (spring|annual)
while IFS=, read -r ext key which; do
  [ "$ext" = "external_id" ] && continue
  pid=$(partner_id "$ext")
  [ -n "$pid" ] || die "partner $ext was not imported"
  if [ "$which" = "spring" ]; then prog=$spring; else prog=$annual; fi
  status=0
  "$op" links create --partner "$pid" --key "$key" --program "$prog" --output ndjson > /dev/null 2> "$sandbox/link.err" || status=$?
  case "$status" in
    0) made=$((made + 1)) ;;
    6) existing=$((existing + 1)) ;;
    *) cat "$sandbox/link.err" >&2; die "links create $key failed ($status)" ;;
  esac
done < examples/data/links.csv
printf 'links: %d created, %d already existed\n' "$made" "$existing" >&2
first_ext=$(sed -n 2p examples/data/links.csv | cut -d, -f1)
run -- links --partner "$(partner_id "$first_ext")" --output table

say "3. Replaying clicks, identifies and conversion events from examples/data/"
run -- clicks import examples/data/clicks.ndjson --concurrency 8 > /dev/null
run -- identify --file examples/data/identifies.ndjson --concurrency 4 > /dev/null
run -- events import examples/data/events.ndjson --concurrency 8 > /dev/null

say "4. Approving matured commissions and running payouts"
run -- commissions approve --yes --output table
run -- payouts run --output table

say "5. Commission report"
report="$sandbox/commission-report.csv"
run -- commissions report --group-by partner --output csv > "$report"
run -- commissions report --group-by status --output table

say "Done. The commission report (per partner and currency, with per-currency totals) is in:"
printf '%s\n' "$report"
printf 'Run ./scripts/main-job.sh again: nothing is created or paid twice.\n' >&2
