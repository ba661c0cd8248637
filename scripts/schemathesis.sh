#!/usr/bin/env bash
# Schemathesis against a freshly started reference server's own /openapi.json (issue 7).
#
# Creates a virtualenv (target/schemathesis-venv) with Schemathesis pinned below, builds
# and starts openpartner-mock (debug) on a free port with a file database and
# --rate-limit off, creates fixtures through the API (a program, a partner, a link) so path
# ids are real, and runs every operation of the document twice, with a fixed seed and a
# bounded number of examples per operation:
#   1. positive (valid data; examples, coverage, fuzzing, stateful): not_a_server_error,
#      response_schema_conformance, status_code_conformance, negative_data_rejection;
#   2. negative (schema-violating data; examples, coverage, fuzzing — issue 10):
#      not_a_server_error, negative_data_rejection, status_code_conformance,
#      response_schema_conformance, content_type_conformance, unsupported_method.
# Prints the number of test cases of each run. Exits non-zero on any failure.
# Environment: SCHEMATHESIS_MAX_EXAMPLES (default 25), SCHEMATHESIS_SEED (default 7),
# SCHEMATHESIS_WORKERS (default 2), CARGO, CARGO_TARGET_DIR.
# Extra arguments are passed to `schemathesis run` (e.g. `--report junit`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

SCHEMATHESIS_VERSION=4.32.5
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-25}
seed=${SCHEMATHESIS_SEED:-7}
workers=${SCHEMATHESIS_WORKERS:-2}
target_dir=${CARGO_TARGET_DIR:-$root/target}
venv="$target_dir/schemathesis-venv"

die() { printf 'schemathesis.sh: %s\n' "$*" >&2; exit 1; }
say() { printf '\n==> %s\n' "$*" >&2; }

if [ ! -x "$venv/bin/schemathesis" ] \
  || [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]; then
  say "Installing Schemathesis $SCHEMATHESIS_VERSION into $venv"
  python3 -m venv "$venv" || die "python3 -m venv failed"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
    || die "pip install schemathesis==$SCHEMATHESIS_VERSION failed"
fi

say "Building openpartner-mock (debug)"
"${CARGO:-cargo}" build --quiet --locked -p openpartner-mock || die "cargo build failed"
mock="$target_dir/debug/openpartner-mock"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

admin_key="op_$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')"
"$mock" --port 0 --db "$work/schemathesis.db" --admin-key "$admin_key" --rate-limit off \
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
say "Server at $base_url"

# api METHOD PATH [JSON]: the response body; fails on a non-2xx answer.
api() {
  local method=$1 path=$2 body=${3:-}
  local args=(-sS --fail-with-body -X "$method" -H "Authorization: Bearer $admin_key")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data "$body")
  curl "${args[@]}" "$base_url$path" || die "$method $path failed"
}
json_field() { "$venv/bin/python" -c "import json,sys; print(json.load(sys.stdin)$1)"; }

say "Creating fixtures (program, partner, link)"
program_id=$(api POST /programs '{"name":"Schemathesis","commissionRule":{"type":"percent","value":10},"destinationUrl":"https://example.com/"}' | json_field '["id"]')
partner_id=$(api POST /partners "{\"email\":\"schemathesis@example.com\",\"name\":\"Schemathesis\",\"programIds\":[\"$program_id\"],\"sendInvite\":false}" | json_field '["id"]')
link_json=$(api POST "/partners/$partner_id/links" "{\"linkKey\":\"schemathesis-link\",\"programId\":\"$program_id\"}")
link_id=$(printf '%s' "$link_json" | json_field '["id"]')
link_key=$(printf '%s' "$link_json" | json_field '["linkKey"]')
export OP_PROGRAM_ID=$program_id OP_PARTNER_ID=$partner_id OP_LINK_ID=$link_id OP_LINK_KEY=$link_key
printf 'program %s, partner %s, link %s (%s)\n' "$program_id" "$partner_id" "$link_id" "$link_key" >&2

# Path ids: the partner for /partners/{id}/…, the program for /programs/{id}, the link for
# /links/{id}; program_id / linkKey wherever they appear. Anything else keeps generated values.
cat > "$work/schemathesis.toml" <<'TOML'
# no state kept between runs (and no .schemathesis/ in the tree)
[cache]
enabled = false

[parameters]
"path.program_id" = "${OP_PROGRAM_ID}"
"path.programId" = "${OP_PROGRAM_ID}"
"path.linkKey" = "${OP_LINK_KEY}"
"path.link_key" = "${OP_LINK_KEY}"

[[operations]]
include-path-regex = "^/partners/\\{id\\}"
parameters = { "path.id" = "${OP_PARTNER_ID}" }

[[operations]]
include-path-regex = "^/programs/\\{id\\}"
parameters = { "path.id" = "${OP_PROGRAM_ID}" }

[[operations]]
include-path-regex = "^/links/\\{id\\}"
parameters = { "path.id" = "${OP_LINK_ID}" }
TOML

# The server's own document, saved first: loaded from its URL, Schemathesis leaves the
# document's own operation (GET /openapi.json) out; from the file every operation runs.
curl -sS --fail "$base_url/openapi.json" -o "$work/openapi.json" || die "GET /openapi.json failed"

# run_schemathesis MODE CHECKS [ARGS…]: one `schemathesis run` over every operation.
run_schemathesis() {
  local mode=$1 checks=$2
  shift 2
  "$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$work/openapi.json" \
    --url "$base_url" \
    -H "Authorization: Bearer $admin_key" \
    --mode "$mode" \
    --checks "$checks" \
    --max-examples "$max_examples" \
    --seed "$seed" \
    --workers "$workers" \
    --generation-database none \
    --no-color \
    --request-timeout 10 \
    "$@"
}

# run_phase NAME MODE CHECKS [ARGS…]: runs it (once more on CPython's AST bug alone), exits
# on failure, prints the number of test cases.
run_phase() {
  local name=$1 mode=$2 checks=$3
  shift 3
  local log="$work/schemathesis-$name.log" status=0
  say "schemathesis run, $name (--mode $mode; the server's /openapi.json, max $max_examples examples per operation, seed $seed)"
  run_schemathesis "$mode" "$checks" "$@" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}
  # CPython 3.11 before 3.11.8 can raise "SystemError: AST constructor recursion depth
  # mismatch" inside Hypothesis while it describes a lambda during deep schema walks
  # (python/cpython gh-106905): an error of the test tool, not a finding about the server.
  # When that is the only problem of the run (no check failed), run once more.
  if [ "$status" -ne 0 ] \
    && grep -q "AST constructor recursion depth mismatch" "$log" \
    && ! grep -q "^=* FAILURES =*$" "$log"; then
    say "Schemathesis hit CPython's AST recursion bug (gh-106905), not a check failure: running once more"
    status=0
    run_schemathesis "$mode" "$checks" "$@" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}
  fi
  if [ "$status" -ne 0 ]; then
    printf '\nschemathesis.sh: %s FAILED (exit %s); server log tail:\n' "$name" "$status" >&2
    tail -n 20 "$work/server.err" >&2 || true
    exit "$status"
  fi
  # "Test cases:" is followed by "  N generated, N passed…"
  local cases
  cases=$(grep -A1 '^Test cases:' "$log" | tail -n1 | sed 's/^ *//')
  summary+=("$name: ${cases:-? (no 'Test cases' line)}")
}

summary=()
# Valid data (examples, coverage, fuzzing, stateful): answers conform to the document.
run_phase positive positive \
  not_a_server_error,response_schema_conformance,status_code_conformance,negative_data_rejection \
  "$@"
# Invalid data (issue 10): every schema violation Schemathesis derives — wrong types,
# out-of-range numbers, bad formats and patterns, missing required fields and parameters,
# undocumented methods — is rejected with a documented 4xx, never a 5xx, and every answer
# (errors included) matches the document's schema and content type.
# The server runs single-tenant here, where every /platform/* path is 404 route_not_found
# whatever the method (API.md §5): the unsupported-method check (which wants 405 for a
# TRACE) does not apply to them, and --checks on the command line overrides any
# per-operation setting, so those operations are left out of this run only (the positive
# run covers their 404s; tests/platform.rs and server-mock/tests/hostile.rs's multi-tenant
# run cover them served).
run_phase negative negative \
  not_a_server_error,negative_data_rejection,status_code_conformance,response_schema_conformance,content_type_conformance,unsupported_method \
  --phases examples,coverage,fuzzing --exclude-path-regex '^/platform/' "$@"
say "Schemathesis: no failures"
printf '  %s\n' "${summary[@]}" >&2
