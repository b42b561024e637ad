# S3: the authenticated dashboard (page of 20) as `light` on PostgreSQL, against pgbench -M prepared
# with as many clients as the service's pool; one pgbench transaction is one dashboard. Two scripts:
# - the target's reference, bench/pgbench/dashboard-6af8648.sql: the 5 statements the dashboard
#   sent when issue 13 was filed (full rows with csr_pem and pem, the counters apart). It stays
#   fixed, so the levers the issue names (narrow rows, fewer round trips) count;
# - the very statements the service sends now (bench/pgbench/dashboard.sql, captured by
#   bench/pgbench/capture.sh), reported: the service's cost beyond its SQL.
# The bench_sql loop on PostgreSQL is a third reference.
if postgres_service; then
  dashboard='/api/v3/myrequests?per_page=20'
  s3_session=$(session_of "$pg_light_token")
  s3_user_id=$(psql -qAtX "$pg_url" -c "SELECT id FROM users WHERE username = 'light'")
  # The script must measure the real work: its session check has to find the session.
  [ "$(psql -qAtX "$pg_url" -c "SELECT count(*) FROM sessions WHERE id = '$s3_session' AND user_id = $s3_user_id")" = 1 ] \
    || fail "S3: the light user's session $s3_session is not in $pg_db"
  for round in $(seq "$rounds"); do
    wrk_get S3 http "$round" 200 "$connections" "$pg_base" "$pg_light_token" "$dashboard"
    pgbench_run S3 pgbench-issue "$round" bench/pgbench/dashboard-6af8648.sql \
      -D session="$s3_session" -D username=light -D user_id="$s3_user_id"
    pgbench_run S3 pgbench "$round" bench/pgbench/dashboard.sql \
      -D session="$s3_session" -D username=light -D user_id="$s3_user_id"
    bench_sql_run S3 ceiling "$round" --database-url "$pg_url" --what dashboard --user light
  done
fi
summarize '{s3_rps: med("S3"; "http"; "rps"), s3_p50_ms: med("S3"; "http"; "p50_ms"),
  s3_p99_ms: med("S3"; "http"; "p99_ms"), s3_pgbench_ops: med("S3"; "pgbench"; "ops_per_second"),
  s3_issue_pgbench_ops: med("S3"; "pgbench-issue"; "ops_per_second"),
  s3_ceiling_ops: med("S3"; "ceiling"; "ops_per_second")}
  | . + {s3_ratio_to_pgbench: ratio(.s3_rps; .s3_pgbench_ops),
    s3_ratio_to_issue_pgbench: ratio(.s3_rps; .s3_issue_pgbench_ops),
    s3_ratio_to_ceiling: ratio(.s3_rps; .s3_ceiling_ops)}'
table_row '["S3", "GET /myrequests (20), PostgreSQL", "\(.s3_rps) rps, p99 \(.s3_p99_ms) ms", "pgbench, issue 13 statements \(.s3_issue_pgbench_ops) tps", "\(.s3_ratio_to_issue_pgbench)", ">= 0.75 (issue 13)"]'
table_row '["S3", "  same, against pgbench with its statements", "\(.s3_rps) rps", "pgbench \(.s3_pgbench_ops) tps", "\(.s3_ratio_to_pgbench)", "reported"]'
table_row '["S3", "  same, against bench_sql", "\(.s3_rps) rps", "loop \(.s3_ceiling_ops) ops/s", "\(.s3_ratio_to_ceiling)", "reported"]'
