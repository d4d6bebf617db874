#!/usr/bin/env bash
# Page latency with 100,000 runs stored: p50/p99 of `GET /api/v1/runs` (first page, filtered
# pages, a deep offset, a time window), `GET /api/v1/runs/{id}`, `/api/v1/apps` and the web
# UI's `/runs`, `/runs/{id}`, `/` and `/apps/{app}`, one request at a time, against the floor
# `GET /healthz`, on a real `gantry server` over loopback.
#
#   benches/page-latency.sh [RUNS]      (default 100000)
#
# The store is seeded once (runs recorded through the store, a few minutes for 100,000) and
# kept under the target directory, keyed by the schema and the seeding code; later runs reuse
# it. `GANTRY_BENCH_RESEED=1` seeds anew.
source "$(dirname "$0")/common.sh"
runs=${1:-100000}

build
key=$(cat crates/gantry-store/migrations/sqlite/*.sql crates/gantry-bench/src/seed.rs \
  crates/gantry-bench/src/fixtures.rs | sha256sum | cut -c1-12)
data=$target/bench-data/runs-$runs-$key
if [ "${GANTRY_BENCH_RESEED:-0}" = 1 ] || [ ! -f "$data/admin-token" ]; then
  rm -rf "$data" "$data.partial"
  mkdir -p "$data.partial"
  "$bench" seed --db "sqlite://$data.partial/gantry.db" --runs "$runs"
  # The first start gives the store its bootstrap admin token; kept for the next runs.
  start_server "$gantry" server --listen 127.0.0.1:0 --db "sqlite://$data.partial/gantry.db"
  stop_server
  echo "$GANTRY_ADMIN_TOKEN" >"$data.partial/admin-token"
  mv "$data.partial" "$data"
fi
GANTRY_ADMIN_TOKEN=$(cat "$data/admin-token")
export GANTRY_ADMIN_TOKEN
echo "store: $runs runs, $(du -sh "$data" | cut -f1) on disk"

start_server "$gantry" server --listen 127.0.0.1:0 --db "sqlite://$data/gantry.db"
"$bench" latency --url "$server_url"
