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
# Re-running it doubles nothing: partners already existed (known external ids), programs are
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

die() { printf 'main-job: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/sandbox.sh
. "$root/scripts/lib/sandbox.sh"

build_binaries
ensure_admin_key "$sandbox/admin-key"
trap stop_server EXIT
trap 'exit 130' INT TERM

say "Starting the reference server (database: $sandbox/main-job.db, rate limit off)"
start_server "$sandbox/main-job.db" "$sandbox" --log warn

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
