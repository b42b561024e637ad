# S8 on SQLite: the heavy user's dashboard and stats against the light user's, one connection.
heavy_vs_light S8 s8 SQLite "$base" "$heavy_token" "$light_token"
