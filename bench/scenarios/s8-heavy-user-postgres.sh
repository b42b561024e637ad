# S8 on PostgreSQL: the heavy user's dashboard and stats against the light user's, one connection.
if postgres_service; then
  heavy_vs_light S8pg s8_pg PostgreSQL "$pg_base" "$pg_heavy_token" "$pg_light_token"
fi
