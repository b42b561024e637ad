# S2: the authenticated dashboard (page of 20) on SQLite, against bench_sql running the same
# statements through the same pool settings.
dashboard='/api/v3/myrequests?per_page=20'
for round in $(seq "$rounds"); do
  wrk_get S2 http "$round" 200 "$connections" "$base" "$light_token" "$dashboard"
  bench_sql_run S2 ceiling "$round" --database-url "sqlite://$data/requestdesk.db" \
    --what dashboard --user light
done
summarize '{s2_rps: med("S2"; "http"; "rps"), s2_p50_ms: med("S2"; "http"; "p50_ms"),
  s2_p99_ms: med("S2"; "http"; "p99_ms"), s2_ceiling_ops: med("S2"; "ceiling"; "ops_per_second")}
  | . + {s2_ratio_to_ceiling: ratio(.s2_rps; .s2_ceiling_ops)}'
table_row '["S2", "GET /myrequests (20), SQLite", "\(.s2_rps) rps, p99 \(.s2_p99_ms) ms", "loop \(.s2_ceiling_ops) ops/s", "\(.s2_ratio_to_ceiling)", ">= 0.9 (issue 13)"]'
