# S8 on PostgreSQL: the heavy user's dashboard and stats against the light user's, one connection.
source bench/lib-postgres.sh
if postgres_service; then
  for round in $(seq "$rounds"); do
    for who in heavy light; do
      token_var=pg_${who}_token
      wrk_get S8pg "dashboard-$who" "$round" 200 1 "$pg_base" "${!token_var}" '/api/v3/myrequests?per_page=20'
      wrk_get S8pg "stats-$who" "$round" 200 1 "$pg_base" "${!token_var}" /api/v3/myrequests/stats
    done
  done
fi
summarize '{s8_pg_dashboard_heavy_p50_ms: med("S8pg"; "dashboard-heavy"; "p50_ms"),
  s8_pg_dashboard_light_p50_ms: med("S8pg"; "dashboard-light"; "p50_ms"),
  s8_pg_stats_heavy_p50_ms: med("S8pg"; "stats-heavy"; "p50_ms"),
  s8_pg_stats_light_p50_ms: med("S8pg"; "stats-light"; "p50_ms")}
  | . + {s8_pg_dashboard_ratio: ratio(.s8_pg_dashboard_heavy_p50_ms; .s8_pg_dashboard_light_p50_ms),
    s8_pg_stats_ratio: ratio(.s8_pg_stats_heavy_p50_ms; .s8_pg_stats_light_p50_ms)}'
table_row '["S8", "PostgreSQL dashboard heavy/light p50", "\(.s8_pg_dashboard_heavy_p50_ms) / \(.s8_pg_dashboard_light_p50_ms) ms", "light", "\(.s8_pg_dashboard_ratio)", "<= 3"]'
table_row '["S8", "PostgreSQL stats heavy/light p50", "\(.s8_pg_stats_heavy_p50_ms) / \(.s8_pg_stats_light_p50_ms) ms", "light", "\(.s8_pg_stats_ratio)", "<= 3"]'
