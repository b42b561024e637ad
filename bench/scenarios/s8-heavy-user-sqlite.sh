# S8 on SQLite: the heavy user's dashboard and stats against the light user's, one connection.
for round in $(seq "$rounds"); do
  for who in heavy light; do
    token_var=${who}_token
    wrk_get S8 "dashboard-$who" "$round" 200 1 "$base" "${!token_var}" '/api/v3/myrequests?per_page=20'
    wrk_get S8 "stats-$who" "$round" 200 1 "$base" "${!token_var}" /api/v3/myrequests/stats
  done
done
summarize '{s8_dashboard_heavy_p50_ms: med("S8"; "dashboard-heavy"; "p50_ms"),
  s8_dashboard_light_p50_ms: med("S8"; "dashboard-light"; "p50_ms"),
  s8_stats_heavy_p50_ms: med("S8"; "stats-heavy"; "p50_ms"),
  s8_stats_light_p50_ms: med("S8"; "stats-light"; "p50_ms")}
  | . + {s8_dashboard_ratio: ratio(.s8_dashboard_heavy_p50_ms; .s8_dashboard_light_p50_ms),
    s8_stats_ratio: ratio(.s8_stats_heavy_p50_ms; .s8_stats_light_p50_ms)}'
table_row '["S8", "SQLite dashboard heavy/light p50", "\(.s8_dashboard_heavy_p50_ms) / \(.s8_dashboard_light_p50_ms) ms", "light", "\(.s8_dashboard_ratio)", "<= 3"]'
table_row '["S8", "SQLite stats heavy/light p50", "\(.s8_stats_heavy_p50_ms) / \(.s8_stats_light_p50_ms) ms", "light", "\(.s8_stats_ratio)", "<= 3"]'
