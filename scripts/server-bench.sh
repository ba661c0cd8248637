#!/usr/bin/env bash
# The server benchmark (BENCHMARKS.md, "Server throughput"): one command, one run.
#
#   ./scripts/server-bench.sh
#
# Installs what the bench needs when it is missing — `wrk` from the OS packages
# (apt-get) and the official OpenPartner Node SDK (`@openpartner/sdk`, pinned, from npm,
# into <target>/node-sdk) — builds the release binaries, then runs
# `cargo bench -p openpartner-e2e --bench server_bench` (tests/benches/server_bench.rs says
# what it measures). Without node/npm the Node SDK comparison is skipped and the bench
# says so. Only 127.0.0.1 is loaded; every load lasts BENCH_SECONDS (default 10).
#
# Environment: CARGO, CARGO_TARGET_DIR (as scripts/lib/sandbox.sh), BENCH_SECONDS,
# BENCH_EVENTS (default 50000), BENCH_NODE_SECONDS (default 60).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
die() { printf 'server-bench: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/sandbox.sh
. "$root/scripts/lib/sandbox.sh"

node_sdk_version=0.1.0
target_dir=${CARGO_TARGET_DIR:-$root/target}

ensure_wrk

if command -v node > /dev/null && command -v npm > /dev/null; then
  sdk_dir="$target_dir/node-sdk"
  if [ ! -f "$sdk_dir/node_modules/@openpartner/sdk/package.json" ] \
    || ! grep -q "\"version\": \"$node_sdk_version\"" "$sdk_dir/node_modules/@openpartner/sdk/package.json"; then
    say "Installing @openpartner/sdk@$node_sdk_version (npm) into $sdk_dir"
    mkdir -p "$sdk_dir"
    npm install --prefix "$sdk_dir" --no-audit --no-fund --no-save "@openpartner/sdk@$node_sdk_version" > /dev/null \
      || die "npm install @openpartner/sdk@$node_sdk_version failed"
  fi
  export BENCH_NODE_SDK="$sdk_dir"
else
  say "node/npm not found: the Node SDK comparison is skipped"
fi

build_binaries
say "Running the server benchmark"
"${CARGO:-cargo}" bench --locked -p openpartner-e2e --bench server_bench
