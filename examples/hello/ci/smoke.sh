#!/usr/bin/env bash
# Starts the built service on a free port, checks both routes, stops it.
set -euo pipefail
log=$(mktemp)
PORT=0 ./target/release/hello >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  grep -q 'listening on' "$log" && break
  sleep 0.05
done
address=$(sed -n 's/^listening on //p' "$log")
echo "service up at $address"
curl --fail --silent --show-error "http://$address/healthz"
curl --fail --silent --show-error "http://$address/" | tee /dev/stderr | grep -q "hello from version"
echo "SMOKE_ADDRESS=$address" >>"$GANTRY_CONTEXT"
