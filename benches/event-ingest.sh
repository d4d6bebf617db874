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
  perf record -q -F 999 -g -p "$server_pid" -o "$work/perf.data" 2>/dev/null &
  perf_pid=$!
fi
"$bench" ingest --url "$server_url" --rounds "$rounds" --events "$events" --batch 500 --clients 4 \
  --scratch "$work/scratch"
if [ -n "$perf_pid" ]; then
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  echo
  echo "server CPU by function (self time, perf):"
  perf report -i "$work/perf.data" --no-children --stdio --sort symbol --percent-limit 1.5 2>/dev/null |
    grep -E '^ +[0-9]' | head -25
  echo
  echo "server CPU by module and crate (self time, perf):"
  perf report -i "$work/perf.data" --no-children --stdio --sort dso,symbol 2>/dev/null | grep -E '^ +[0-9]' |
    awk '{ pct = $1; sub("%", "", pct); sym = $0
           if (sym ~ /jsonschema|referencing|fancy_regex|regex/) k = "schema validation (jsonschema, regex)"
           else if (sym ~ /sqlite3|sqlite/) k = "SQLite (incl. sqlx-sqlite)"
           else if (sym ~ /serde_json|indexmap/) k = "JSON parse/serialize (serde_json, indexmap)"
           else if (sym ~ /\[kernel/) k = "kernel (syscalls, network, scheduling)"
           else if (sym ~ /malloc|free|realloc|memcpy|memmove|_int_/) k = "allocation and copies (libc)"
           else k = "other"
           total[k] += pct }
         END { for (k in total) printf "  %5.1f%%  %s\n", total[k], k }' | sort -rn
fi
