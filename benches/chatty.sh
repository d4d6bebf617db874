#!/usr/bin/env bash
# Chatty tasks: one task that prints 200,000 short lines (`seq 200000`) and one that prints
# 20 MB in 2,000 lines, through `gantry run` (embedded SQLite store) and `gantry run --server`
# (a real `gantry server` on SQLite over loopback), against the floors `seq 200000 > file` and
# `cat file > file2` measured in the same rounds; terminal output to /dev/null. Rounds
# alternate; prints medians, ratios, the peak RSS of gantry, and checks that every line is in
# the store afterwards (counted there, every round).
#
# Beside them, the same 200,000 lines through other tools when they are here or install (into
# the target directory, never system-wide): GNU make, go-task (PyPI `go-task-bin`), Ansible
# (PyPI `ansible-core`) and gitlab-ci-local (npm, with Node 22 from npm's `node` package).
#
#   benches/chatty.sh [ROUNDS]          (default 5)
#
# `GANTRY_BENCH_TOOLS=0` leaves the other tools out; `GANTRY_BENCH_PERF=1` also samples one
# embedded run of the 200,000 lines with `perf` and prints where its CPU time went.
source "$(dirname "$0")/common.sh"
rounds=${1:-5}
lines=200000

build

# The projects: a task printing many short lines, a task printing few long ones.
mkdir -p "$work/lines" "$work/bytes" "$work/floor"
cat >"$work/lines/gantry.yml" <<EOF
app: chatty-lines
stages:
  - name: print
    tasks:
      - { name: lines, run: 'seq $lines' }
EOF
awk 'BEGIN { s = sprintf("%9999s", ""); gsub(/ /, "x", s); for (i = 0; i < 2000; i++) print s }' \
  >"$work/bytes/big.txt"
cat >"$work/bytes/gantry.yml" <<'EOF'
app: chatty-bytes
stages:
  - name: print
    tasks:
      - { name: bytes, run: 'cat big.txt' }
EOF
big_bytes=$(stat -c %s "$work/bytes/big.txt")

# The server, on a SQLite store of its own, and a token to report with.
start_server "$gantry" server --listen 127.0.0.1:0 --db "sqlite://$work/server/gantry.db"
report_token=$(curl -sf -X POST -H "Authorization: Bearer $GANTRY_ADMIN_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"chatty","scopes":["report","read"]}' \
  "$server_url/api/v1/tokens" | python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])')

# measure NAME DIR CMD... : runs CMD in DIR with stdout to /dev/null, appends its wall time
# (µs) to $work/times/NAME and its peak RSS (KiB) to $work/rss/NAME.
mkdir -p "$work/times" "$work/rss"
measure() {
  local name=$1 dir=$2 start end
  shift 2
  start=$(date +%s%N)
  (cd "$dir" && /usr/bin/time -f %M -o "$work/rss.last" "$@" >/dev/null 2>"$work/stderr.last") || {
    cat "$work/stderr.last" >&2
    echo "failed: $name" >&2
    exit 1
  }
  end=$(date +%s%N)
  echo $(((end - start) / 1000)) >>"$work/times/$name"
  tail -1 "$work/rss.last" >>"$work/rss/$name"
}

# The number of log lines of the newest run of APP in the SQLite store at DB.
stored_lines() {
  sqlite3 "$1" "SELECT COUNT(*) FROM task_logs l JOIN tasks t ON t.id = l.task_id
    WHERE t.run_id = (SELECT id FROM runs WHERE app = '$2' ORDER BY queued_at DESC LIMIT 1)"
}

check_lines() {
  local name=$1 db=$2 app=$3 expect=$4 found
  found=$(stored_lines "$db" "$app")
  if [ "$found" != "$expect" ]; then
    echo "$name: $found lines in the store, expected $expect" >&2
    exit 1
  fi
  echo "$found" >>"$work/stored.$name"
}

# Other tools, when they are here or install into the target directory.
tools=()
if [ "${GANTRY_BENCH_TOOLS:-1}" = 1 ]; then
  tool_dir=$target/bench-tools
  mkdir -p "$tool_dir"
  printf 'all:\n\t@seq %d\n' "$lines" >"$work/lines/Makefile"
  command -v make >/dev/null && tools+=(make)
  if [ ! -x "$tool_dir/venv/bin/task" ] || [ ! -x "$tool_dir/venv/bin/ansible-playbook" ]; then
    python3 -m venv "$tool_dir/venv" >/dev/null 2>&1 &&
      "$tool_dir/venv/bin/pip" install -q go-task-bin ansible-core >/dev/null 2>&1 ||
      echo "note: go-task and Ansible did not install; left out" >&2
  fi
  if [ -x "$tool_dir/venv/bin/task" ]; then
    printf 'version: "3"\ntasks:\n  default:\n    cmds:\n      - seq %d\n' "$lines" >"$work/lines/Taskfile.yml"
    tools+=(go-task)
  fi
  if [ -x "$tool_dir/venv/bin/ansible-playbook" ]; then
    cat >"$work/lines/playbook.yml" <<EOF
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - command: seq $lines
EOF
    tools+=(ansible)
  fi
  if [ ! -x "$tool_dir/npm/node_modules/.bin/gitlab-ci-local" ]; then
    npm install --silent --prefix "$tool_dir/npm" node@22 gitlab-ci-local >/dev/null 2>&1 ||
      echo "note: gitlab-ci-local did not install; left out" >&2
  fi
  if [ -x "$tool_dir/npm/node_modules/.bin/gitlab-ci-local" ] && [ -x "$tool_dir/npm/node_modules/.bin/node" ]; then
    mkdir -p "$work/gcl"
    printf 'print:\n  script:\n    - seq %d\n' "$lines" >"$work/gcl/.gitlab-ci.yml"
    git -C "$work/gcl" init -q && git -C "$work/gcl" -c user.email=b@b -c user.name=b commit -q --allow-empty -m init
    tools+=(gitlab-ci-local)
  fi
fi

run_tool() {
  case $1 in
    make) measure make "$work/lines" make -s ;;
    go-task) measure go-task "$work/lines" "$tool_dir/venv/bin/task" ;;
    ansible) measure ansible "$work/lines" env ANSIBLE_LOCALHOST_WARNING=false \
      "$tool_dir/venv/bin/ansible-playbook" -i localhost, \
      -e "ansible_python_interpreter=$tool_dir/venv/bin/python" playbook.yml ;;
    gitlab-ci-local) measure gitlab-ci-local "$work/gcl" env PATH="$tool_dir/npm/node_modules/.bin:$PATH" \
      gitlab-ci-local --no-color print ;;
  esac
}

server_db=$work/server/gantry.db
one_round() {
  measure floor-lines "$work/floor" sh -c "seq $lines > lines.txt"
  measure floor-bytes "$work/floor" sh -c "cat '$work/bytes/big.txt' > bytes.txt"
  measure local-lines "$work/lines" env CI=true "$gantry" run
  check_lines local-lines "$work/lines/.gantry/gantry.db" chatty-lines "$lines"
  measure local-bytes "$work/bytes" env CI=true "$gantry" run
  check_lines local-bytes "$work/bytes/.gantry/gantry.db" chatty-bytes 2000
  measure server-lines "$work/lines" env CI=true GANTRY_TOKEN="$report_token" "$gantry" run --server "$server_url"
  check_lines server-lines "$server_db" chatty-lines "$lines"
  measure server-bytes "$work/bytes" env CI=true GANTRY_TOKEN="$report_token" "$gantry" run --server "$server_url"
  check_lines server-bytes "$server_db" chatty-bytes 2000
  local tool
  for tool in "${tools[@]}"; do run_tool "$tool"; done
}

# A warm-up round (stores created, binaries paged in), then the measured rounds.
one_round
rm -rf "$work/times" "$work/rss" "$work"/stored.* && mkdir -p "$work/times" "$work/rss"
for _ in $(seq 1 "$rounds"); do one_round; done
[ -f "$work/lines/.gantry/gantry.db" ] || { echo "no local store where expected" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
max() { sort -n | tail -1; }
med() { median <"$work/times/$1"; }

echo "chatty tasks, median of $rounds rounds, output to /dev/null ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
awk -v floor="$(med floor-lines)" -v run="$(med local-lines)" -v srv="$(med server-lines)" \
  -v rss="$(max <"$work/rss/local-lines")" -v srss="$(max <"$work/rss/server-lines")" \
  -v lines="$lines" 'BEGIN {
  printf "%d lines (seq %d)                  time       ratio   lines/s      peak RSS\n", lines, lines
  printf "  seq > file (floor)           %9.1f ms   %6.1f\n", floor / 1000, 1
  printf "  gantry run                   %9.1f ms   %6.1f   %9.0f   %6.1f MiB\n", run / 1000, run / floor, lines / (run / 1e6), rss / 1024
  printf "  gantry run --server          %9.1f ms   %6.1f   %9.0f   %6.1f MiB\n", srv / 1000, srv / floor, lines / (srv / 1e6), srss / 1024
}'
for tool in "${tools[@]}"; do
  awk -v floor="$(med floor-lines)" -v t="$(med "$tool")" -v name="$tool" -v lines="$lines" 'BEGIN {
    printf "  %-28s %9.1f ms   %6.1f   %9.0f\n", name, t / 1000, t / floor, lines / (t / 1e6)
  }'
done
echo
awk -v floor="$(med floor-bytes)" -v run="$(med local-bytes)" -v srv="$(med server-bytes)" \
  -v rss="$(max <"$work/rss/local-bytes")" -v srss="$(max <"$work/rss/server-bytes")" \
  -v bytes="$big_bytes" 'BEGIN {
  printf "%.0f MB in 2,000 lines (cat)            time       ratio   MB/s         peak RSS\n", bytes / 1e6
  printf "  cat > file (floor)           %9.1f ms   %6.1f\n", floor / 1000, 1
  printf "  gantry run                   %9.1f ms   %6.1f   %9.1f   %6.1f MiB\n", run / 1000, run / floor, bytes / 1e6 / (run / 1e6), rss / 1024
  printf "  gantry run --server          %9.1f ms   %6.1f   %9.1f   %6.1f MiB\n", srv / 1000, srv / floor, bytes / 1e6 / (srv / 1e6), srss / 1024
}'
echo
echo "every round, every line in the store: $(cat "$work"/stored.local-lines | sort -u | tr '\n' ' ')lines (local), $(cat "$work"/stored.server-lines | sort -u | tr '\n' ' ')(server); 2,000 long lines each way"

if [ "${GANTRY_BENCH_PERF:-0}" = 1 ]; then
  if ! command -v perf >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf
  fi
  (cd "$work/lines" && CI=true perf record -q -F 999 -g -o "$work/perf.data" "$gantry" run >/dev/null 2>&1)
  echo
  echo "gantry run, 200,000 lines: CPU by thread, then by function (perf, self time)"
  perf report -i "$work/perf.data" --no-children --stdio --sort comm 2>/dev/null | grep -E '^ +[0-9]' | head -8 | sed 's/^/  /'
  perf report -i "$work/perf.data" --no-children --stdio --sort sym 2>/dev/null | grep -E '^ +[0-9]' | head -25 | sed 's/^/  /'
fi
