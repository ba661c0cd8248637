#!/usr/bin/env bash
# Exactly-once across crashes, checked on the real binaries (issue 7):
#
#   ./scripts/crash-import.sh
#
# 1. Generates 20,000 distinct conversion events (NDJSON, each line with its own `id`, so
#    `openpartner events import` sends each with its own Idempotency-Key) whose Σ value is
#    known in integer cents, and 5,000 partner rows (CSV, distinct emails); the generator
#    is scripts/lib/import_data.py, shared with scripts/fault-import.sh.
# 2. Starts `openpartner-mock` on a file database, runs
#    `openpartner events import FILE --concurrency 16` and SIGKILLs the server at least
#    three times while the import runs, each time after a number of answered requests
#    drawn from a seeded generator (so the kills land while rows are being written, on a
#    fast machine or a slow one); after each kill the server is restarted on the same
#    database and the same port, so the running import's retries reach it again. The same command is re-run until it exits 0
#    (exit 5 = some lines failed, 1 = the server was unreachable at a run's start: both
#    mean "re-run").
# 3. Checks through the API (`openpartner api GET /export/Event.json`): exactly 20,000
#    events, one per line of the file (each event carries its line id in `metadata`), and
#    Σ value equal to the file's, in exact decimal arithmetic.
# 4. The same for `openpartner partners import FILE.csv --concurrency 16`: exactly 5,000
#    partners, no duplicate email, every row's email present.
#
# Prints the numbers (stored, duplicates, missing, kills, runs) and exits 1 on any
# mismatch. Bounded: every CLI run has a timeout and the number of runs is capped.
#
# Environment:
#   CRASH_SEED      seed of the kill moments (default 7)
#   CRASH_KILLS     kills per import, at least (default 3)
#   CRASH_EVENTS    events in the file (default 20000)
#   CRASH_PARTNERS  partner rows (default 5000)
#   CRASH_KEEP=1    keep the work directory (databases, files, logs) and print its path
#   SANDBOX_PROFILE release | debug (default release): which build of the binaries to use
#   CARGO, CARGO_TARGET_DIR as for scripts/lib/sandbox.sh
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

die() { printf 'crash-import: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/sandbox.sh
. "$root/scripts/lib/sandbox.sh"

seed=${CRASH_SEED:-7}
kills_wanted=${CRASH_KILLS:-3}
n_events=${CRASH_EVENTS:-20000}
n_partners=${CRASH_PARTNERS:-5000}
# Kill moments: once the server has answered N requests with 2xx since it (re)started,
# N uniform in [lo, hi) per kill (drawn from CRASH_SEED). Three kills at the largest N
# still come before the end of the file (3 × 5,000 < 20,000; 3 × 1,250 < 5,000). The answers
# are counted in the server's own request log (debug level, `status=2xx` per request).
events_kill_after=(1000 5000)
partners_kill_after=(250 1250)
server_log=warn,openpartner_mock=debug
# Bounds: one CLI run, and runs per import.
run_timeout=120
max_runs=8

command -v python3 > /dev/null || die "python3 is required (exact decimal sums)"

work=$(mktemp -d "${TMPDIR:-/tmp}/crash-import.XXXXXX")
cleanup() {
  stop_server
  if [ "${CRASH_KEEP:-}" = 1 ]; then
    printf 'crash-import: work directory kept: %s\n' "$work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_binaries
ensure_admin_key "$work/admin-key"

say "Generating $n_events events and $n_partners partner rows"
python3 "$root/scripts/lib/import_data.py" generate "$work" "$n_events" "$n_partners" crash

say "Starting the server on a file database"
start_server "$work/crash.db" "$work" --log "$server_log"
# Restarts go to the same port, so the import that is running reconnects by itself.
SANDBOX_PORT=${base_url##*:}
export SANDBOX_PORT
RANDOM=$seed

# created_since_start: the 2xx answers of the running server (its log restarts with it).
created_since_start() {
  grep -c 'status=2[0-9][0-9] ' "$work/server.err" 2> /dev/null || true
}

# crash_run NAME LO HI CMD…: runs CMD (an openpartner command) until it exits 0,
# SIGKILLing the server during a run each time it has answered a random number in
# [LO, HI) of requests with 2xx since it (re)started, kills_wanted times, and restarting
# it on the same database and port. Sets $kills and $runs.
crash_run() {
  local name=$1 lo=$2 hi=$3
  shift 3
  kills=0
  runs=0
  # The server's log counts from its start: the first kill counts from here.
  local base
  base=$(created_since_start)
  while :; do
    runs=$((runs + 1))
    [ "$runs" -le "$max_runs" ] || die "$name: still failing after $max_runs runs"
    printf '$ openpartner %s   (run %d)\n' "$*" "$runs" >&2
    timeout "$run_timeout" "$op" "$@" > "$work/$name-run$runs.out" 2> "$work/$name-run$runs.err" &
    local cli=$!
    while [ "$kills" -lt "$kills_wanted" ]; do
      local after=$((lo + RANDOM % (hi - lo))) created=0
      while kill -0 "$cli" 2> /dev/null; do
        created=$(($(created_since_start) - base))
        [ "$created" -lt "$after" ] || break
        sleep 0.02
      done
      kill -0 "$cli" 2> /dev/null || break
      kill -KILL "$server_pid"
      wait "$server_pid" 2> /dev/null || true
      kills=$((kills + 1))
      printf '  kill %d: SIGKILL to the server (pid %s) after %d answers 2xx, during run %d (%ds)\n' \
        "$kills" "$server_pid" "$created" "$runs" "$SECONDS" >&2
      start_server "$work/crash.db" "$work" --log "$server_log" 2> /dev/null
      base=0
    done
    local status=0
    wait "$cli" || status=$?
    printf '  run %d exited %d (%ds): %s\n' "$runs" "$status" "$SECONDS" "$(tail -n1 "$work/$name-run$runs.err")" >&2
    case "$status" in
      0)
        if [ "$kills" -lt "$kills_wanted" ]; then
          die "$name: the import finished after $kills of $kills_wanted kills"
        fi
        return 0
        ;;
      1 | 5) ;;
      124) die "$name: run $runs did not finish within ${run_timeout}s" ;;
      *) die "$name: run $runs failed with exit code $status (see $work/$name-run$runs.err)" ;;
    esac
  done
}

failed=0

say "events import with SIGKILLs"
crash_run events "${events_kill_after[@]}" events import "$work/events.ndjson" --concurrency 16
event_kills=$kills event_runs=$runs
"$op" api GET /export/Event.json > "$work/Event.json"
python3 "$root/scripts/lib/import_data.py" check-events "$work" "$work/Event.json" "$event_kills" "$event_runs" || failed=1

say "partners import with SIGKILLs"
crash_run partners "${partners_kill_after[@]}" partners import "$work/partners.csv" --concurrency 16 --no-invite
partner_kills=$kills partner_runs=$runs
"$op" api GET /export/Partner.json > "$work/Partner.json"
python3 "$root/scripts/lib/import_data.py" check-partners "$work" "$work/Partner.json" "$partner_kills" "$partner_runs" || failed=1

[ "$failed" = 0 ] || die "exactly-once violated after SIGKILL (numbers above)"
say "exactly-once held across $event_kills + $partner_kills SIGKILLs"
