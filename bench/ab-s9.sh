#!/usr/bin/env bash
# bench/ab-s9.sh BIN...: S9 (confirm and issue on SQLite) as an interleaved A B C ... run of the
# given builds (directories holding requestdesk and examples/loadgen). Each round, for each build
# in turn: start it on the seeded SQLite data set, submit BENCH_S9_COUNT (2000) fresh requests,
# confirm them all with 16 connections, read its group-commit counters from /metrics, stop it.
# Unlike several bench/run invocations, the builds share every minute of the machine's load.
# Prints one JSON line per run. Needs a data directory seeded by bench/run (BENCH_DATA_DIR); a
# build directory with a `data` entry of its own (a copy of it, say) runs on that one instead, so
# builds whose migrations differ do not share a database.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 BIN..." >&2; exit 2; }
data=${BENCH_DATA_DIR:?set BENCH_DATA_DIR to a data directory seeded by bench/run}
rounds=${BENCH_ROUNDS:-2} count=${BENCH_S9_COUNT:-2000} connections=${BENCH_CONNECTIONS:-16}
work=$(mktemp -d /tmp/requestdesk-ab-s9.XXXXXX)
pid=
trap '[ -z "$pid" ] || kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
token() {
  curl -sf -X POST -H 'content-type: application/json' \
    -d "{\"username\":\"$2\",\"password\":\"bench-password\"}" "$1/api/v3/users/sessions" | jq -er .token
}
counter() { grep -E "^$1 " <<<"$2" | awk '{print $2}' || echo null; }
for round in $(seq "$rounds"); do
  for bin in "$@"; do
    port=$(free_port) base=http://127.0.0.1:$port
    bin_data=$data
    [ ! -e "$bin/data" ] || bin_data=$bin/data
    REQUESTDESK_BIND=127.0.0.1:$port REQUESTDESK_DATA_DIR="$bin_data" REQUESTDESK_LOG_LEVEL=warn \
      REQUESTDESK_POOL_SIZE=10 REQUESTDESK_ADMIN_PASSWORD=bench-admin-password \
      "$bin/requestdesk" serve >"$work/service.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
    requester=$(token "$base" user0000007) approver=$(token "$base" user0000100)
    "$bin/examples/loadgen" prepare --base "$base" --token "$requester" --count "$count" \
      --concurrency 4 --out "$work/requests.jsonl" >/dev/null
    out=$("$bin/examples/loadgen" confirm --base "$base" --token "$approver" \
      --in "$work/requests.jsonl" --concurrency "$connections" | tail -n 1)
    metrics=$(curl -sf -H "Authorization: Bearer $approver" "$base/metrics")
    jq -c --arg bin "$bin" --argjson round "$round" --arg load "$(cut -d' ' -f1 /proc/loadavg)" \
      --argjson grouped "$(counter requestdesk_db_grouped_writes_total "$metrics")" \
      --argjson batches "$(counter requestdesk_db_write_batches_total "$metrics")" \
      '{round: $round, bin: $bin, issued_per_second, p50_ms, p99_ms, errors, load: $load,
        grouped_writes: $grouped, batches: $batches}' <<<"$out"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
  done
done
