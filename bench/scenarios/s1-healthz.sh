# S1: GET /healthz, no auth, no database: the baseline of the HTTP stack.
for round in $(seq "$rounds"); do
  wrk_get S1 healthz "$round" 200 "$connections" "$base" "" /healthz
done
summarize '{s1_rps: med("S1"; "healthz"; "rps"), s1_p50_ms: med("S1"; "healthz"; "p50_ms"),
  s1_p99_ms: med("S1"; "healthz"; "p99_ms")}'
table_row '["S1", "GET /healthz", "\(.s1_rps) rps, p50 \(.s1_p50_ms) ms, p99 \(.s1_p99_ms) ms", "-", "-", "reported"]'
