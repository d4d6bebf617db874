#!/usr/bin/env bash
# Engine overhead: 200 trivial tasks (20 stages of 10 parallel tasks) through `gantry run`, with
# every event recorded in SQLite, against the same 200 commands through `xargs -P` (the floor);
# then 20 trivial tasks one after another (one stage) against the same 20 commands run one
# after another by a shell (the floor), and by GNU make. Measured in the same run, alternating,
# several rounds; prints medians, the ratios and the overhead per task.
#
#   benches/engine-overhead.sh [ROUNDS]      (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
jobs=$(nproc)

cargo build --release --quiet -p gantry
gantry=${CARGO_TARGET_DIR:-$PWD/target}/release/gantry
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

{
  echo "app: bench"
  echo "stages:"
  for stage in $(seq 1 20); do
    echo "  - name: s$stage"
    echo "    parallel: true"
    echo "    tasks:"
    for task in $(seq 1 10); do
      echo "      - { name: t$task, run: 'true' }"
    done
  done
} >"$work/gantry.yml"

mkdir -p "$work/serial"
{
  echo "app: serial"
  echo "stages:"
  echo "  - name: s"
  echo "    tasks:"
  for task in $(seq 1 20); do
    echo "      - { name: t$task, run: 'true' }"
  done
} >"$work/serial/gantry.yml"
{
  printf 'all:'
  for task in $(seq 1 20); do printf ' t%d' "$task"; done
  printf '\n.PHONY: all'
  for task in $(seq 1 20); do printf ' t%d' "$task"; done
  printf '\n'
  for task in $(seq 1 20); do printf 't%d:\n\t@true\n' "$task"; done
} >"$work/serial/Makefile"

now() { date +%s%N; }

floor_once() {
  local start end
  start=$(now)
  for _ in $(seq 1 20); do
    # shellcheck disable=SC2016 # the script is for the inner bash
    printf 'true\n%.0s' $(seq 1 10) | xargs -P "$jobs" -I{} bash -eo pipefail -c '{}'
  done
  end=$(now)
  echo $(((end - start) / 1000))
}

gantry_once() {
  local start end
  start=$(now)
  (cd "$work" && CI=true "$gantry" run --jobs "$jobs" >/dev/null)
  end=$(now)
  echo $(((end - start) / 1000))
}

serial_floor_once() {
  local start end
  start=$(now)
  for _ in $(seq 1 20); do bash -eo pipefail -c true; done
  end=$(now)
  echo $(((end - start) / 1000))
}

serial_gantry_once() {
  local start end
  start=$(now)
  (cd "$work/serial" && CI=true "$gantry" run >/dev/null)
  end=$(now)
  echo $(((end - start) / 1000))
}

serial_make_once() {
  local start end
  start=$(now)
  # SHELL as the others run their commands: a shell per recipe line.
  make -s -C "$work/serial" SHELL=bash .SHELLFLAGS='-eo pipefail -c' >/dev/null
  end=$(now)
  echo $(((end - start) / 1000))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

gantry_once >/dev/null # warm up: create the stores, page in the binary
serial_gantry_once >/dev/null
floors=() runs=() serial_floors=() serial_runs=() serial_makes=()
for _ in $(seq 1 "$rounds"); do
  floors+=("$(floor_once)")
  runs+=("$(gantry_once)")
  serial_floors+=("$(serial_floor_once)")
  serial_runs+=("$(serial_gantry_once)")
  serial_makes+=("$(serial_make_once)")
done
floor=$(printf '%s\n' "${floors[@]}" | median)
run=$(printf '%s\n' "${runs[@]}" | median)
serial_floor=$(printf '%s\n' "${serial_floors[@]}" | median)
serial_run=$(printf '%s\n' "${serial_runs[@]}" | median)
serial_make=$(printf '%s\n' "${serial_makes[@]}" | median)

awk -v floor="$floor" -v run="$run" -v jobs="$jobs" -v rounds="$rounds" 'BEGIN {
  printf "200 tasks, %d jobs, median of %d rounds\n", jobs, rounds
  printf "xargs -P (floor): %8.1f ms\n", floor / 1000
  printf "gantry run:       %8.1f ms\n", run / 1000
  printf "ratio:            %8.2f\n", run / floor
  printf "overhead per task: %7.2f ms\n", (run - floor) / 1000 / 200
}'
awk -v floor="$serial_floor" -v run="$serial_run" -v make="$serial_make" -v rounds="$rounds" 'BEGIN {
  printf "\n20 tasks one after another, median of %d rounds\n", rounds
  printf "bash, one by one (floor): %8.1f ms\n", floor / 1000
  printf "make:                     %8.1f ms   ratio %5.2f\n", make / 1000, make / floor
  printf "gantry run:               %8.1f ms   ratio %5.2f\n", run / 1000, run / floor
  printf "overhead per task:        %8.2f ms\n", (run - floor) / 1000 / 20
}'
