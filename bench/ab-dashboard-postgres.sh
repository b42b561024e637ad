#!/usr/bin/env bash
# bench/ab-dashboard-postgres.sh BASE_BIN NEW_BIN BASE_SQL NEW_SQL: S3 as an interleaved A/B.
# Two services run side by side on the seeded PostgreSQL bench database: A from BASE_BIN, B from
# NEW_BIN. Each has its own pgbench script (BASE_SQL, NEW_SQL: bench/pgbench/dashboard.sql as
# captured from each binary). Then BENCH_ROUNDS (3) rounds of A wrk, B wrk, A pgbench and
# B pgbench, 10 s each. Unlike two bench/run invocations, A and B share every minute of the
# machine's load. Prints one JSON line per run, which bench/results/*-ab-s3.jsonl keeps.
# Needs a data directory seeded by bench/run (BENCH_DATA_DIR, its postgres/ holds the CA) and its
# database (BENCH_POSTGRES_URL/BENCH_POSTGRES_DB).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 4 ] || { echo "usage: $0 BASE_BIN NEW_BIN BASE_SQL NEW_SQL" >&2; exit 2; }
base_bin=$1 new_bin=$2 base_sql=$3 new_sql=$4
data=${BENCH_DATA_DIR:?set BENCH_DATA_DIR to a data directory seeded by bench/run}
url=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}/${BENCH_POSTGRES_DB:-requestdesk_bench}
rounds=${BENCH_ROUNDS:-3} seconds=${BENCH_SECONDS:-10}
export REQUESTDESK_SECRETS_KEY=${REQUESTDESK_SECRETS_KEY:-be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c}
work=$(mktemp -d /tmp/requestdesk-ab.XXXXXX)
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# start NAME BIN: a service on the bench database; sets port_NAME.
start() {
  local port
  port=$(free_port)
  REQUESTDESK_BIND=127.0.0.1:$port REQUESTDESK_DATA_DIR="$data/postgres" REQUESTDESK_LOG_LEVEL=warn \
    REQUESTDESK_POOL_SIZE=10 REQUESTDESK_ADMIN_PASSWORD=bench-admin-password DATABASE_URL="$url" \
    "$2/requestdesk" serve >"$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  printf -v "port_$1" '%s' "$port"
}
token() {
  curl -sf -X POST -H 'content-type: application/json' \
    -d '{"username":"light","password":"bench-password"}' \
    "http://127.0.0.1:$1/api/v3/users/sessions" | jq -er .token
}
session() {
  python3 -c 'import base64, json, sys
p = sys.argv[1].split(".")[1]
print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["sid"])' "$1"
}
start a "$base_bin"
start b "$new_bin"
token_a=$(token "$port_a") token_b=$(token "$port_b")
user_id=$(psql -qAtX "$url" -c "SELECT id FROM users WHERE username = 'light'")
load() { cut -d' ' -f1 /proc/loadavg; }
http() { # SIDE ROUND PORT TOKEN
  local out
  out=$(BENCH_TOKEN=$4 BENCH_PATHS="/api/v3/myrequests?per_page=20" wrk -t1 -c16 -d"${seconds}s" \
    -s bench/wrk/report.lua "http://127.0.0.1:$3/api/v3/myrequests?per_page=20" 2>&1 | tail -n1)
  jq -c --arg s "$1" --argjson r "$2" --argjson l "$(load)" '{side: $s, name: "http", round: $r, load: $l} + .' <<<"$out"
}
bench() { # SIDE ROUND SCRIPT TOKEN
  local tps
  tps=$(pgbench -n -M prepared -c 10 -j 2 -T "$seconds" -D now="$(date -u +%Y-%m-%dT%H:%M:%S.%6N)" \
    -D session="$(session "$4")" -D username=light -D user_id="$user_id" -f "$3" "$url" 2>&1 \
    | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
  jq -nc --arg s "$1" --argjson r "$2" --argjson l "$(load)" --argjson t "${tps:-null}" \
    '{side: $s, name: "pgbench", round: $r, load: $l, ops_per_second: $t}'
}
for round in $(seq "$rounds"); do
  http a "$round" "$port_a" "$token_a"
  http b "$round" "$port_b" "$token_b"
  bench a "$round" "$base_sql" "$token_a"
  bench b "$round" "$new_sql" "$token_b"
done
