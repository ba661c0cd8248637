# Shared by scripts/main-job.sh, scripts/demo.sh, scripts/load.sh and
# scripts/server-bench.sh (sourced, not run): build the release binaries, keep a sandbox
# admin key, install wrk, start the reference server on a port of its choice and stop it
# again. The caller sets `set -euo pipefail`, `root` (the repository) and a
# `die` function first.

say() { printf '\n==> %s\n' "$*" >&2; }

# Builds openpartner-mock and openpartner (release unless SANDBOX_PROFILE=debug); sets
# $mock and $op.
# Environment: CARGO (default cargo), CARGO_TARGET_DIR (default $root/target),
# SANDBOX_PROFILE (release | debug, default release).
build_binaries() {
  local cargo_bin=${CARGO:-cargo}
  local target_dir=${CARGO_TARGET_DIR:-$root/target}
  local profile=${SANDBOX_PROFILE:-release} flags=()
  case "$profile" in
    release) flags=(--release) ;;
    debug) ;;
    *) die "SANDBOX_PROFILE must be release or debug, not $profile" ;;
  esac
  say "Building openpartner-mock and openpartner ($profile; the first build takes a few minutes)"
  "$cargo_bin" build "${flags[@]}" --quiet -p openpartner-mock -p openpartner-cli \
    || die "cargo build failed"
  mock="$target_dir/$profile/openpartner-mock"
  op="$target_dir/$profile/openpartner"
  [ -x "$mock" ] || die "missing $mock"
  [ -x "$op" ] || die "missing $op"
}

# ensure_admin_key FILE: creates FILE (mode 0600) with a random `op_…` key the first time;
# sets $admin_key.
ensure_admin_key() {
  local key_file=$1
  if [ ! -s "$key_file" ]; then
    say "Generating a sandbox admin key in $key_file"
    (umask 077 && printf 'op_%s\n' "$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')" > "$key_file")
  fi
  admin_key=$(head -n1 "$key_file")
  [ -n "$admin_key" ] || die "$key_file is empty; delete it and run again"
}

# Installs wrk from the OS packages (apt-get; root on this project's machines) when it is
# missing.
ensure_wrk() {
  if ! command -v wrk > /dev/null; then
    say "Installing wrk (apt-get)"
    apt-get install -y wrk > /dev/null || { apt-get update > /dev/null && apt-get install -y wrk > /dev/null; } \
      || die "could not install wrk"
  fi
}

server_pid=""

# Stops the server started by start_server, if it still runs (for an EXIT trap).
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}

# start_server DB LOGDIR [FLAG…]: starts $mock on a free port (or on SANDBOX_PORT when
# set, e.g. to restart a server on the port it had) with database DB and the
# admin key, rate limit off, webhook deliveries allowed to loopback
# (`--outbound-allow-private-cidrs 127.0.0.0/8`, so `openpartner webhooks listen` and a
# receiver on this machine get them), stdout/stderr in LOGDIR/server.out|err; waits up to
# SANDBOX_START_SECONDS (default 10) for its address (printed once any `--seed` is done);
# sets $server_pid and $base_url and exports OPENPARTNER_BASE_URL and
# OPENPARTNER_API_KEY (and unsets OPENPARTNER_TENANT / OPENPARTNER_PROFILE).
start_server() {
  local db=$1 logs=$2
  shift 2
  "$mock" --port "${SANDBOX_PORT:-0}" --db "$db" --admin-key "$admin_key" --rate-limit off \
    --outbound-allow-private-cidrs 127.0.0.0/8 "$@" \
    > "$logs/server.out" 2> "$logs/server.err" &
  server_pid=$!
  base_url=""
  local wait_s=${SANDBOX_START_SECONDS:-10}
  for _ in $(seq 1 $((wait_s * 10))); do
    if [ -s "$logs/server.out" ]; then
      base_url=$(head -n1 "$logs/server.out" | tr -d '\r')
      [ -n "$base_url" ] && break
    fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$logs/server.err" >&2; die "the server exited early"; }
    sleep 0.1
  done
  [ -n "$base_url" ] || die "the server did not print its address within $wait_s s"
  printf 'Server listening at %s\n' "$base_url" >&2
  export OPENPARTNER_BASE_URL="$base_url"
  export OPENPARTNER_API_KEY="$admin_key"
  unset OPENPARTNER_TENANT OPENPARTNER_PROFILE
}
