#!/usr/bin/env bash
# Load proof (RELIABILITY.md §7): 64 concurrent clients for 60 s against the reference
# server, mixing reads (lists, reports) and writes (events, partners). One command:
#
#   ./scripts/load.sh
#
# Not part of scripts/check.sh (it takes a minute and a quiet machine). What it does:
# 1. installs wrk from the OS packages when missing (as scripts/server-bench.sh) and builds
#    the release binaries;
# 2. starts openpartner-mock on 127.0.0.1 with a fresh file database, `--seed demo`
#    (programs, 300 partners, 30,000 clicks, 12,000 identities, months of events and
#    commissions), `--rate-limit off`, `--log warn`, extensions on;
# 3. runs six wrk processes at once (scripts/lib/load.lua, one request kind each; their
#    connections add up to 64), for LOAD_SECONDS:
#      12 × GET /partners?limit=50            12 × GET /commissions?limit=100[&status=…]
#       8 × GET /partners/:id/dashboard        8 × GET /partners/:id/timeseries?bucket=week
#      16 × POST /attribution/events (fresh Idempotency-Key and body per request; one in
#           four to an identified user of the seed, so some write attributions/commissions)
#       8 × POST /partners (fresh key and email per request)
# 4. reads the server's VmRSS/VmHWM from /proc before (seeded, idle), every 5 s during and
#    after the load (until wrk has written its results, then 2 s and 10 s later), and its
#    CPU time (/proc/PID/stat) over the load;
# 5. checks that the writes landed: the events and partners on the server grew by at least
#    the 2xx answers wrk counted (and by at most that plus the requests in flight when wrk
#    stopped);
# 6. runs the same 64 connections for LOAD_HELLO_SECONDS (default 10) on `GET /` of the
#    hello-world server of tests/benches/server_bench.rs (`server_bench hello-server`, the
#    reference of BENCHMARKS.md; LOAD_HELLO=0 skips it), right after, on the same machine;
# 7. prints one summary (scripts/lib/load-summary.py): requests, errors (socket errors and
#    non-2xx answers), req/s, p50/p99/max per request kind and overall (merged histograms),
#    the RSS figures and the ratio to the hello-world server; exits 1 on any error.
#
# Environment: LOAD_SECONDS (default 60), LOAD_HELLO, LOAD_HELLO_SECONDS, LOAD_KEEP=1 keeps the work directory
# (<target>/load-run: database, server log, wrk outputs, summary.json); CARGO,
# CARGO_TARGET_DIR, SANDBOX_PROFILE as scripts/lib/sandbox.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
die() { printf 'load: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/sandbox.sh
. "$root/scripts/lib/sandbox.sh"

seconds=${LOAD_SECONDS:-60}
hello_seconds=${LOAD_HELLO_SECONDS:-10}
target_dir=${CARGO_TARGET_DIR:-$root/target}
work="$target_dir/load-run"

ensure_wrk
build_binaries
if [ "${LOAD_HELLO:-1}" = 1 ]; then
  say "Building the hello-world reference server (tests/benches/server_bench.rs)"
  hello_bin=$("${CARGO:-cargo}" bench --locked -q -p openpartner-e2e --bench server_bench --no-run \
    --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "server_bench":
        print(m["executable"])')
  [ -x "$hello_bin" ] || die "could not build the server_bench binary"
fi
rm -rf "$work"
mkdir -p "$work"
ensure_admin_key "$work/admin.key"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_server
  if [ "${LOAD_KEEP:-0}" != 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

say "Starting the server with --seed demo (seeding takes a few seconds)"
started=$(date +%s.%N)
SANDBOX_START_SECONDS=300 start_server "$work/load.db" "$work" --seed demo --log warn
printf 'seeded and listening after %.1f s\n' "$(echo "$(date +%s.%N) - $started" | bc)" >&2

auth=(-H "Authorization: Bearer $admin_key")
api() { curl -fsS "${auth[@]}" "$base_url$1"; }
# rows TABLE: the number of rows of /export/TABLE.json.
rows() { api "/export/$1.json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

api "/partners?limit=200" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["partners"]:
    print(p["id"])' > "$work/partner-ids.txt"
[ -s "$work/partner-ids.txt" ] || die "the seeded server listed no partners"
events_before=$(rows Event)
partners_before=$(rows Partner)
printf 'seed: %s events, %s partners (%s partner ids for the reports)\n' \
  "$events_before" "$partners_before" "$(wc -l < "$work/partner-ids.txt")" >&2

t0=$(date +%s.%N)
rss() { # rss PHASE: appends "PHASE<TAB>seconds<TAB>VmRSS<TAB>VmHWM" to rss.tsv
  local kib hwm
  kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
  printf '%s\t%s\t%s\t%s\n' "$1" "$(echo "$(date +%s.%N) - $t0" | bc)" "$kib" "$hwm" >> "$work/rss.tsv"
}
: > "$work/rss.tsv"
: > "$work/results.jsonl"
rss before
# cpu_ticks: the server's user + system CPU time so far, in clock ticks (/proc/PID/stat).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
cpu_before=$(cpu_ticks)

run_tag="$(date +%s)-$$"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "Load: 64 connections for ${seconds} s (load average before: $load_before)"
# kind connections
for spec in "partners-list 12" "commissions-list 12" "dashboard 8" "timeseries 8" \
  "events 16" "partners-create 8"; do
  set -- $spec
  wrk -t1 -c"$2" -d"${seconds}s" --timeout 10s "${auth[@]}" -s "$root/scripts/lib/load.lua" \
    "$base_url" -- "$1" "$work/results.jsonl" "$run_tag" "$2" "$work/partner-ids.txt" \
    > "$work/wrk-$1.txt" 2>&1 &
  pids+=($!)
done
# Samples every 5 s while any wrk runs.
any_running() {
  local p
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done
  return 1
}
# wrk's done() walks its latency histogram (tens of seconds after a 60 s load): samples
# taken after the load's end are "after", whatever wrk still does.
load_end=$(echo "$(date +%s.%N) + $seconds" | bc)
while any_running; do
  sleep 5
  if [ "$(echo "$(date +%s.%N) < $load_end" | bc)" = 1 ]; then rss during; else rss after; fi
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
pids=()
cpu_after=$(cpu_ticks)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
[ "$status" = 0 ] || { tail -n 5 "$work"/wrk-*.txt >&2; die "a wrk process failed"; }
[ "$(wc -l < "$work/results.jsonl")" = 6 ] || { tail -n 5 "$work"/wrk-*.txt >&2; die "missing wrk results"; }
sleep 2
rss after
sleep 8
rss after

say "Checking that the writes landed"
events_after=$(rows Event)
partners_after=$(rows Partner)
python3 - "$work/results.jsonl" "$((events_after - events_before))" \
  "$((partners_after - partners_before))" <<'EOF'
import json, sys
rows = {r["kind"]: r for r in map(json.loads, open(sys.argv[1]))}
ok = True
for kind, grown in (("events", int(sys.argv[2])), ("partners-create", int(sys.argv[3]))):
    r = rows[kind]
    answered = r["requests"] - r["non2xx"]
    # Requests still in flight when wrk stopped were processed but not counted by wrk.
    fine = answered <= grown <= answered + r["connections"]
    ok &= fine
    print(f"{kind}: {answered} answered 2xx, the server's table grew by {grown}"
          f" ({'ok' if fine else 'MISMATCH'})")
sys.exit(0 if ok else 1)
EOF

hello_args=()
if [ "${LOAD_HELLO:-1}" = 1 ]; then
  say "The reference: the same 64 connections on GET / of the hello-world server (${hello_seconds}s)"
  "$hello_bin" hello-server > "$work/hello.out" 2> "$work/hello.err" &
  hello_pid=$!
  pids+=("$hello_pid")
  for _ in $(seq 1 100); do [ -s "$work/hello.out" ] && break; sleep 0.1; done
  hello_url=$(head -n1 "$work/hello.out")
  [ -n "$hello_url" ] || die "the hello-world server did not start"
  wrk -t2 -c64 -d"${hello_seconds}s" --timeout 10s -s "$root/scripts/lib/load.lua" "$hello_url" \
    -- hello "$work/hello.jsonl" "$run_tag" 64 > "$work/wrk-hello.txt" 2>&1 || die "wrk (hello) failed"
  kill "$hello_pid" 2>/dev/null || true
  wait "$hello_pid" 2>/dev/null || true
  pids=()
  hello_args=("$work/hello.jsonl")
fi

say "Summary (load average before $load_before, after $load_after; $(nproc) cores)"
python3 - "$work/results.jsonl" "$((cpu_after - cpu_before))" "$(getconf CLK_TCK)" "$seconds" <<'EOF'
import json, sys
n = sum(json.loads(l)["requests"] for l in open(sys.argv[1]) if l.strip())
cpu = int(sys.argv[2]) / int(sys.argv[3])
print(f"server CPU during the load: {cpu:.1f} s = {cpu / float(sys.argv[4]) * 100:.0f} % of one core, "
      f"{cpu / n * 1e6:.0f} µs per request ({n} requests)")
EOF
python3 "$root/scripts/lib/load-summary.py" "$work/results.jsonl" "$work/rss.tsv" "$work/summary.json" \
  "${hello_args[@]}"
