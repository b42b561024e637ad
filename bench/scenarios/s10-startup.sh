# S10: start-up, from process start to GET /readyz answering 200, on the seeded (existing)
# SQLite database, timed by hyperfine over bench/start-until-ready.sh (which polls every 2 ms
# and kills the service once ready). Target: <= 300 ms. Also on PostgreSQL when a server
# answers at 127.0.0.1:5432 (an empty, migrated database: start-up does not read the data).
command -v hyperfine >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
}
s10_runs=20
[ "$mode" = smoke ] && s10_runs=5

# s10_time NAME ENV=VALUE...: one hyperfine measurement, recorded as round 1.
s10_time() {
  local name=$1 port
  shift
  port=$(free_port)
  if ! hyperfine -N --warmup 2 --runs "$s10_runs" --export-json "$work/s10-$name.json" \
      "bench/start-until-ready.sh $bin/requestdesk $port REQUESTDESK_POOL_SIZE=$pool_size $*" \
      >"$work/s10-$name.out" 2>&1; then
    fail "S10 $name: hyperfine failed: $(tail -n 5 "$work/s10-$name.out")"
    return
  fi
  record S10 "$name" 1 "$(jq -c '.results[0] | {runs: (.times | length),
    mean_ms: (.mean * 1000), median_ms: (.median * 1000), stddev_ms: (.stddev * 1000),
    min_ms: (.min * 1000), max_ms: (.max * 1000)}' "$work/s10-$name.json")"
}

s10_time sqlite "REQUESTDESK_DATA_DIR=$data"

if command -v psql >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  s10_pg=postgres://postgres@127.0.0.1:5432/requestdesk_bench_s10
  if psql -q -h 127.0.0.1 -U postgres -d postgres \
      -c 'DROP DATABASE IF EXISTS requestdesk_bench_s10 WITH (FORCE)' \
      -c 'CREATE DATABASE requestdesk_bench_s10' >/dev/null 2>&1; then
    # A first start migrates, makes the CA and the JWT secret and the administrator.
    if bench/start-until-ready.sh "$bin/requestdesk" "$(free_port)" DATABASE_URL="$s10_pg" \
        REQUESTDESK_DATA_DIR="$work/s10-pg" REQUESTDESK_ADMIN_PASSWORD=bench-admin-password; then
      s10_time postgres "DATABASE_URL=$s10_pg REQUESTDESK_DATA_DIR=$work/s10-pg"
    else
      fail "S10 postgres: the first start failed"
    fi
    psql -q -h 127.0.0.1 -U postgres -d postgres \
      -c 'DROP DATABASE IF EXISTS requestdesk_bench_s10 WITH (FORCE)' >/dev/null 2>&1 || true
  fi
else
  log "S10: no PostgreSQL at 127.0.0.1:5432, timing SQLite only"
fi
summarize '{s10_sqlite_median_ms: med("S10"; "sqlite"; "median_ms"),
  s10_sqlite_mean_ms: med("S10"; "sqlite"; "mean_ms"),
  s10_postgres_median_ms: med("S10"; "postgres"; "median_ms")}'
table_row '["S10", "start-up to /readyz 200, SQLite", "median \(.s10_sqlite_median_ms) ms (mean \(.s10_sqlite_mean_ms))", "-", "-", "<= 300 ms"]'
table_row '["S10", "start-up to /readyz 200, PostgreSQL", "median \(.s10_postgres_median_ms) ms", "-", "-", "<= 300 ms"]'
