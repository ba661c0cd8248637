#!/usr/bin/env bash
# Nothing lost, nothing doubled under injected faults, checked on the real binaries
# (issue 10, RELIABILITY.md §1):
#
#   ./scripts/fault-import.sh
#
# 1. Generates (scripts/lib/import_data.py, shared with crash-import.sh) 5,000 partner
#    rows and 20,000 distinct conversion events spread over 100 users, plus one link, one
#    click and one identify per user, so that every event earns a commission.
# 2. Runs the whole flow with the `openpartner` CLI on a fresh database against a
#    fault-free server: `partners import`, `programs create` (20 %, last click, 60 days,
#    no holdback), `links create` per user, `clicks import`, `identify --file`,
#    `events import`, then `commissions report --group-by partner -o csv` and
#    `partners list -o csv`.
# 3. Runs the same flow on another fresh database against a server started with
#    `--faults 'rate=0.1,kinds=503,429,reset-before,reset-after,slow,truncate'
#    --faults-seed 1` (FAULT_SPEC / FAULT_SEED): every CLI command must succeed by itself
#    (the SDK's retry decision and the bulk runner; no retry loop in this script).
# 4. Checks under faults, through the API: exactly 5,000 partners (no duplicate email)
#    and 20,000 events (one per line, Σ value equal to the file's) in the exports,
#    commission totals per currency equal to the fault-free run's to the cent, the
#    commission report and the partner listing equal to the fault-free ones (ids and
#    times taken out, rows sorted), and `GET /dev/faults` showing every kind injected.
#
# Prints the numbers and exits 1 on any mismatch. Bounded: every CLI run has a timeout.
#
# Environment:
#   FAULT_SPEC      the --faults spec (default above; `slow` waits 2 s)
#   FAULT_SEED      --faults-seed (default 1)
#   FAULT_EVENTS    events (default 20000)
#   FAULT_PARTNERS  partner rows (default 5000)
#   FAULT_USERS     attributed users = links = clicks = identifies (default 100; the
#                   server allows 120 identify calls per minute per IP)
#   FAULT_KEEP=1    keep the work directory (databases, files, logs) and print its path
#   SANDBOX_PROFILE release | debug (default release): which build of the binaries to use
#   CARGO, CARGO_TARGET_DIR as for scripts/lib/sandbox.sh
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

die() { printf 'fault-import: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/sandbox.sh
. "$root/scripts/lib/sandbox.sh"

spec=${FAULT_SPEC:-rate=0.1,kinds=503,429,reset-before,reset-after,slow,truncate}
seed=${FAULT_SEED:-1}
n_events=${FAULT_EVENTS:-20000}
n_partners=${FAULT_PARTNERS:-5000}
n_users=${FAULT_USERS:-100}
# Bound of one CLI run.
run_timeout=600

command -v python3 > /dev/null || die "python3 is required (exact decimal sums)"
data() { python3 "$root/scripts/lib/import_data.py" "$@"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/fault-import.XXXXXX")
cleanup() {
  stop_server
  if [ "${FAULT_KEEP:-}" = 1 ]; then
    printf 'fault-import: work directory kept: %s\n' "$work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_binaries
ensure_admin_key "$work/admin-key"

say "Generating $n_partners partner rows, $n_events events over $n_users attributed users"
data generate "$work" "$n_events" "$n_partners" fault "$n_users"

# cli NAME ARGS…: runs the CLI once (bounded), stdout to $dir/NAME.out; fails the proof on
# a non-zero exit.
cli() {
  local name=$1
  shift
  local status=0
  timeout "$run_timeout" "$op" "$@" > "$dir/$name.out" 2> "$dir/$name.err" || status=$?
  [ "$status" = 0 ] || die "$label: openpartner $* exited $status: $(tail -n3 "$dir/$name.err")"
}

# flow LABEL [SERVER FLAG…]: the whole flow on a fresh database; results in $work/LABEL/.
flow() {
  label=$1
  shift
  dir="$work/$label"
  mkdir -p "$dir"
  say "$label: server $*"
  start_server "$dir/proof.db" "$dir" --log warn "$@"
  local started=$SECONDS
  cli partners-import partners import "$work/partners.csv" --concurrency 16 --no-invite -o json
  cli programs-create programs create --name "Fault proof" --destination-url https://shop.example.com/ \
    --percent 20 --model last-click --window-days 60 --holdback-days 0 -o json
  local program
  program=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$dir/programs-create.out")
  [ -n "$program" ] || die "$label: no program id in $(head -c 300 "$dir/programs-create.out")"
  cli partners-ndjson partners list -o ndjson
  # externalId → partner id, then one link per attributed user.
  sed -n 's/.*"id":"\([^"]*\)".*"externalId":"\([^"]*\)".*/\2 \1/p' "$dir/partners-ndjson.out" > "$dir/partner-ids.txt"
  local ext key pid n=0
  while IFS=, read -r ext key; do
    [ "$ext" = external_id ] && continue
    pid=$(awk -v e="$ext" '$1 == e { print $2; exit }' "$dir/partner-ids.txt")
    [ -n "$pid" ] || die "$label: partner $ext was not imported"
    cli link links create --partner "$pid" --key "$key" --program "$program" -o json
    n=$((n + 1))
  done < "$work/links.csv"
  cli clicks-import clicks import "$work/clicks.ndjson" --concurrency 8 -o json
  cli identify identify --file "$work/identifies.ndjson" --concurrency 4 -o json
  cli events-import events import "$work/events.ndjson" --concurrency 16 -o json
  cli report commissions report --group-by partner -o csv
  cli partners-csv partners list -o csv
  cli event-export api GET /export/Event.json
  cli partner-export api GET /export/Partner.json
  cli commission-export api GET /export/Commission.json
  if [ "$label" = faulted ]; then
    cli fault-log api GET /dev/faults
  fi
  elapsed=$((SECONDS - started))
  printf '%s: flow done in %ds (%d links)\n' "$label" "$elapsed" "$n" >&2
  stop_server
}

flow fault-free
free_elapsed=$elapsed
flow faulted --faults "$spec" --faults-seed "$seed"
faulted_elapsed=$elapsed

say "Checks"
failed=0
for label in fault-free faulted; do
  d="$work/$label"
  printf '%-10s ' "$label:" >&2
  data check-events "$work" "$d/event-export.out" 0 1 >&2 || failed=1
  printf '%-10s ' "$label:" >&2
  data check-partners "$work" "$d/partner-export.out" 0 1 >&2 || failed=1
  data normalize-csv "$d/report.out" "$d/partners-csv.out" "$d/report.norm.csv"
  data normalize-csv "$d/partners-csv.out" "$d/partners-csv.out" "$d/partners.norm.csv"
done
python3 - "$work" "$free_elapsed" "$faulted_elapsed" <<'PY' || failed=1
import json, sys
from collections import defaultdict
from decimal import Decimal
work, free_s, faulted_s = sys.argv[1], sys.argv[2], sys.argv[3]
def totals(label):
    t = defaultdict(Decimal)
    n = 0
    for r in json.load(open(f"{work}/{label}/commission-export.out"), parse_float=Decimal):
        t[r["currency"]] += Decimal(str(r["amount"]))
        n += 1
    return n, dict(t)
free_n, free_t = totals("fault-free")
faulted_n, faulted_t = totals("faulted")
ok = free_n == faulted_n and free_t == faulted_t and free_n > 0
fmt = lambda t: ", ".join(f"{c} {v}" for c, v in sorted(t.items()))
print(f"commissions: fault-free {free_n} ({fmt(free_t)}), faulted {faulted_n} ({fmt(faulted_t)}): "
      f"{'OK' if ok else 'MISMATCH'}")
same = True
for name in ("report.norm.csv", "partners.norm.csv"):
    a = open(f"{work}/fault-free/{name}").read()
    b = open(f"{work}/faulted/{name}").read()
    rows = a.count("\n") - 1
    print(f"{name}: {rows} rows, {'identical' if a == b else 'DIFFERENT'}")
    same = same and a == b and rows > 0
log = json.load(open(f"{work}/faulted/fault-log.out"))
inj = log["injected"]
every = all(inj.get(k, 0) > 0 for k in log["kinds"])
print(f"faults injected: total {log['total']} ({', '.join(f'{k} {v}' for k, v in inj.items())}), "
      f"every kind > 0: {'yes' if every else 'NO'}; rate {log['rate']}, seed {log['seed']}")
for label in ("fault-free", "faulted"):
    parts = []
    for name in ("partners-import", "clicks-import", "identify", "events-import"):
        sm = json.load(open(f"{work}/{label}/{name}.out"))
        parts.append(f"{sm['command']} {sm['created']} created / {sm['replayed']} replayed / "
                     f"{sm['failed']} failed in {sm['elapsedMs'] / 1000:.1f}s")
    print(f"{label}: " + "; ".join(parts))
print(f"durations: fault-free flow {free_s}s, faulted flow {faulted_s}s")
sys.exit(0 if ok and same and every else 1)
PY

[ "$failed" = 0 ] || die "faults lost or doubled something (numbers above; FAULT_KEEP=1 keeps the files)"
say "nothing lost, nothing doubled under $spec (seed $seed)"
