#!/usr/bin/env bash
# Build number allocation: 32 concurrent clients × 100 `POST /api/v1/apps/{app}/builds` against
# one server, first on SQLite, then on PostgreSQL (a new database on the local server, dropped
# afterwards), each against the floor: as many `GET /healthz` round trips with the same
# concurrency. Every round checks that the 3,200 numbers are unique and gap-free, and also
# allocates 3,200 numbers straight through the store in the benchmark's process (same
# concurrency, same database): the database's share without HTTP and authentication.
#
#   benches/build-numbers.sh [ROUNDS]      (default 5)
#
# PostgreSQL: `GANTRY_BENCH_POSTGRES` (default postgres://postgres@127.0.0.1:5432, trust auth).
source "$(dirname "$0")/common.sh"
rounds=${1:-5}
postgres=${GANTRY_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}

build
# allocate LABEL DB [ARTIFACTS]
allocate() {
  "$bench" allocate --url "$server_url" --clients 32 --per-client 100 --rounds "$rounds" --label "$1" \
    --db "$2" ${3:+--artifacts "$3"}
}

start_server "$gantry" server --listen 127.0.0.1:0 --db "sqlite://$work/sqlite/gantry.db"
allocate SQLite "sqlite://$work/sqlite/gantry.db"
stop_server
echo

database=gantry_bench_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
psql "$postgres/postgres" -qXc "CREATE DATABASE $database" >/dev/null
cleanups+=("psql '$postgres/postgres' -qXc 'DROP DATABASE IF EXISTS $database WITH (FORCE)' >/dev/null")
mkdir -p "$work/artifacts"
start_server "$gantry" server --listen 127.0.0.1:0 --db "$postgres/$database" --artifacts "$work/artifacts"
allocate PostgreSQL "$postgres/$database" "$work/artifacts"
