# Sourced by the benchmark scripts: release builds, a scratch directory removed on exit, and a
# server under test started on a free port of the loopback and stopped on exit.
#
# After `build`: $gantry and $bench are the binaries. After `start_server CMD...`: $server_url
# is where it listens. $GANTRY_ADMIN_TOKEN is the bootstrap admin token every server is started
# with; the benchmarks make the tokens they use with it.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}

work=$(mktemp -d)
server_pid=""
cleanups=()
on_exit() {
  stop_server
  local cleanup
  for cleanup in "${cleanups[@]}"; do eval "$cleanup" || true; done
  rm -rf "$work"
}
trap on_exit EXIT

GANTRY_ADMIN_TOKEN=bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export GANTRY_ADMIN_TOKEN

build() {
  cargo build --release --quiet -p gantry -p gantry-bench
  gantry=$target/release/gantry
  bench=$target/release/gantry-bench
}

# start_server CMD... : runs CMD (which must print `listening on http://ADDR`), waits for it.
start_server() {
  stop_server
  "$@" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  local _
  for _ in $(seq 1 600); do
    server_url=$(grep -o 'http://[0-9.:]*' "$work/server.out" 2>/dev/null | head -1 || true)
    [ -n "$server_url" ] && return 0
    if ! kill -0 "$server_pid" 2>/dev/null; then
      cat "$work/server.err" >&2
      echo "the server did not start: $*" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "the server did not say where it listens within a minute: $*" >&2
  exit 1
}

stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
