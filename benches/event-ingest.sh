#!/usr/bin/env bash
# Event ingest: CDEvents per second through `POST /api/v1/events` of a real `gantry server` on
# a SQLite store over loopback (arrays of 500 from 4 concurrent clients, with a `report`
# token), against the floor: the same rows inserted straight into SQLite (a table of the shape
# of the store's `events`) with one prepared statement in one transaction. Rounds alternate
# floor and server; prints each round, the medians, the ratio, and a breakdown of the server's
# steps timed alone (JSON parsing, schema validation, the store's `record_cdevents`).
#
#   benches/event-ingest.sh [ROUNDS] [EVENTS]      (default 5 rounds of 40000 events)
source "$(dirname "$0")/common.sh"
rounds=${1:-5}
events=${2:-40000}

build
start_server "$gantry" server --listen 127.0.0.1:0 --db "sqlite://$work/server/gantry.db"
"$bench" ingest --url "$server_url" --rounds "$rounds" --events "$events" --batch 500 --clients 4 \
  --scratch "$work/scratch"
