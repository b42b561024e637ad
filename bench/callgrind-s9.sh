#!/usr/bin/env bash
# bench/callgrind-s9.sh BINARY [OUT]: the instructions one S9 confirmation (confirm and issue,
# P-256, SQLite) costs the service, counted by valgrind's callgrind, as
# bench/callgrind-dashboard.sh counts a dashboard. The service runs under callgrind on the data
# directory seeded by bench/run (BENCH_DATA_DIR; requests are added to it), `loadgen prepare`
# submits CG_COUNT (300) requests uncounted, the counters are zeroed, `loadgen confirm` approves
# them at CG_CONNECTIONS (4) connections, and only that is dumped. Prints `requests=N
# instructions=I per_request=I/N`. The figure moves by a few percent with how the group commit
# batches (more connections, bigger batches); compare builds at the same settings. LOADGEN is the
# load generator (default target/release/examples/loadgen).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 BINARY [OUT]" >&2; exit 2; }
bin=$(realpath "$1")
out=${2:-target/callgrind/s9.out}
data=${BENCH_DATA_DIR:?set BENCH_DATA_DIR to a data directory seeded by bench/run}
loadgen=${LOADGEN:-target/release/examples/loadgen}
count=${CG_COUNT:-300} connections=${CG_CONNECTIONS:-4}
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null || {
  echo "needs valgrind" >&2
  exit 1
}
[ -x "$loadgen" ] || { echo "no load generator at $loadgen (cargo build --release --example loadgen)" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
rm -f "$out" "$out".*
work=$(mktemp -d /tmp/requestdesk-cg-s9.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
REQUESTDESK_BIND=127.0.0.1:$port REQUESTDESK_DATA_DIR="$data" REQUESTDESK_LOG_LEVEL=warn \
  REQUESTDESK_POOL_SIZE=10 \
  valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" serve >"$out.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 120); do curl -sf "$base/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
token() {
  curl -sf -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"bench-password\"}" "$base/api/v3/users/sessions" | jq -er .token
}
requester=$(token user0000007) approver=$(token user0000100)
"$loadgen" prepare --base "$base" --token "$requester" --count "$count" --concurrency 4 \
  --out "$work/requests.jsonl" >/dev/null
callgrind_control -z "$pid" >/dev/null
result=$("$loadgen" confirm --base "$base" --token "$approver" --in "$work/requests.jsonl" \
  --concurrency "$connections" | tail -n 1)
callgrind_control -d "$pid" >/dev/null
issued=$(jq -er .issued <<<"$result")
dump=$(ls -t "$out".* 2>/dev/null | grep -v '\.log$' | head -n 1)
total=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
echo "requests=$issued instructions=$total per_request=$((total / issued)) profile=$dump loadgen=$result"
