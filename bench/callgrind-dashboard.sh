#!/usr/bin/env bash
# bench/callgrind-dashboard.sh BINARY [OUT]: the instructions one SQLite dashboard (`light`, page
# of 20, S2's request) costs the service, counted by valgrind's callgrind. Unlike rps or perf's
# samples, the count does not depend on what else the machine runs: the same binary and data give
# the same figure to within 0.1%, so two builds compare on a noisy machine, one after the other.
# The service runs under callgrind on a data directory seeded by bench/run (BENCH_DATA_DIR; it is
# only read), answers 50 dashboards to warm up, then CG_SECONDS (15) of wrk at 2 connections,
# the only part counted. Prints `requests=N instructions=I per_request=I/N` and leaves the
# profile in OUT (default target/callgrind/dashboard.out.N) for
# `callgrind_annotate --inclusive=yes FILE`. All of the service's threads are counted, so the
# background checkpointer's few instructions are in the figure too. With BENCH_DATABASE_URL (the
# PostgreSQL database bench/run seeded, e.g. postgres://postgres@127.0.0.1:5432/requestdesk_bench,
# with BENCH_DATA_DIR=<data>/postgres for its keys) the same is counted on PostgreSQL: the
# service's instructions only, not the server's.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 BINARY [OUT]" >&2; exit 2; }
bin=$(realpath "$1")
out=${2:-target/callgrind/dashboard.out}
data=${BENCH_DATA_DIR:?set BENCH_DATA_DIR to a data directory seeded by bench/run}
command -v valgrind >/dev/null && command -v wrk >/dev/null || {
  echo "needs valgrind and wrk" >&2
  exit 1
}
mkdir -p "$(dirname "$out")"
rm -f "$out" "$out".*
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  export DATABASE_URL=$BENCH_DATABASE_URL
  # bench/lib-postgres.sh's key, which sealed the seeded secrets
  export REQUESTDESK_SECRETS_KEY=${REQUESTDESK_SECRETS_KEY:-be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c}
fi
REQUESTDESK_BIND=127.0.0.1:$port REQUESTDESK_DATA_DIR="$data" REQUESTDESK_LOG_LEVEL=warn \
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" serve >"$out.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
token=$(curl -sf -H 'content-type: application/json' \
  -d '{"username":"light","password":"bench-password"}' "$base/api/v3/users/sessions" | jq -er .token)
dashboard="$base/api/v3/myrequests?per_page=20"
for _ in $(seq 50); do curl -sf -o /dev/null -H "Authorization: Bearer $token" "$dashboard"; done
callgrind_control -z "$pid" >/dev/null 2>&1
requests=$(wrk -t1 -c2 -d"${CG_SECONDS:-15}s" -H "Authorization: Bearer $token" "$dashboard" \
  | awk '/requests in/ {print $1}')
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 1
dump=$(ls -t "$out".* | grep -v '\.log$' | head -n 1)
instructions=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "requests=$requests instructions=$instructions per_request=$((instructions / requests)) profile=$dump"
