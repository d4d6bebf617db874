#!/usr/bin/env bash
# Event ingest: CDEvents per second through `POST /api/v1/events` of a real `gantry server` on
# a SQLite store over loopback (arrays of 500 from 4 concurrent clients, with a `report`
# token), against the floor: the same rows inserted straight into SQLite (a table of the shape
# of the store's `events`) with one prepared statement in one transaction. Rounds alternate
# floor and server; prints each round, the medians, the ratio, and a breakdown of the server's
# steps timed alone (JSON parsing, schema validation, the store's `record_cdevents`).
#
#   benches/event-ingest.sh [ROUNDS] [EVENTS]      (default 5 rounds of 40000 events)
#
# `GANTRY_BENCH_PERF=1` also samples the server with `perf` (installed from Debian's packages
# if missing) and prints where its CPU time went, by function and by module.
source "$(dirname "$0")/common.sh"
rounds=${1:-5}
events=${2:-40000}

build
start_server "$gantry" server --listen 127.0.0.1:0 --db "sqlite://$work/server/gantry.db"
perf_pid=""
if [ "${GANTRY_BENCH_PERF:-0}" = 1 ]; then
  if ! command -v perf >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf
  fi
  # DWARF call graphs: Rust release code keeps no frame pointers.
  perf record -q -F 299 --call-graph dwarf,16384 -p "$server_pid" -o "$work/perf.data" 2>/dev/null &
  perf_pid=$!
fi
"$bench" ingest --url "$server_url" --rounds "$rounds" --events "$events" --batch 500 --clients 4 \
  --scratch "$work/scratch"
if [ -n "$perf_pid" ]; then
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  echo
  echo "server CPU by thread (perf):"
  perf report -i "$work/perf.data" --no-children --stdio --sort comm 2>/dev/null | grep -E '^ +[0-9]' | sed 's/^/  /'
  echo "server CPU, inclusive, by step (perf; stacks cut at 16 KiB may hide a little):"
  perf report -i "$work/perf.data" --children --stdio --sort symbol -g none 2>/dev/null | grep -E '^ +[0-9]' \
    >"$work/children.txt"
  share() { grep -F -- "$1" "$work/children.txt" | awk '{ sub("%", "", $1); if ($1 > max) max = $1 } END { printf "%5.1f%%", max }'; }
  echo "  $(share 'gantry_server::extract::JsonBytes::parse')  splitting request bodies into their events' texts (handler)"
  echo "  $(share 'Deserialize for serde_json::value::Value>::deserialize')  parsing each event into serde_json::Value (store)"
  echo "  $(share 'gantry_store::validation::validate_cdevent')  schema validation (store)"
  echo "  $(share 'record_cdevents')  record_cdevents on the runtime's threads (parsing, validation, awaiting sqlx)"
  echo "  $(share 'sqlite3_step')  SQLite executing statements"
  echo "  $(share '__x64_sys_futex')  futex calls: waking and waiting between the runtime and sqlx's SQLite thread"
fi
