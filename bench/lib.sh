# Sourced by bench/run: the functions every scenario fragment (bench/scenarios/*.sh) uses.
#
# What a fragment can rely on (set by bench/run before it sources the fragments, in name order):
#   $mode (smoke|full) $seconds $rounds $connections $pool_size $password
#   $bin (the binaries: requestdesk, seed, bench_sql) $loadgen (examples/loadgen.rs, built)
#   $data (the seeded SQLite data directory)
#   $work (a scratch directory, removed at exit) $runs (JSON lines, one per measured run)
#   $base (the SQLite service's URL) $service (its pid) $light_token $heavy_token
#   $users $requests $heavy (the data set's sizes)
# What a fragment does: runs its rounds (A B A B), appends one JSON line per run to $runs
# (`record`), calls `fail` for anything broken, and declares its summary figures (`summarize`)
# and its table rows (`table_row`).
#
# A scenario measured on each database loops `for database in $(databases)` and calls
# `use_database "$database" || continue`, which points $db_base and the other $db_* variables at
# that database's service. Inside the loop, `@pg` and `@db` in what `summarize` and `table_row`
# are given stand for the database's tag ("" on SQLite, "pg" on PostgreSQL: S4 and S4pg, s4_x and
# s4pg_x) and its label (SQLite, PostgreSQL).

log() { printf '==> %s (%.0fs)\n' "$*" "$(echo "$(date +%s.%N) - $started" | bc)" >&2; }
elapsed() { echo "$(date +%s.%N) - $1" | bc; }
fail() { echo "FAILED: $*" >&2; failures=$((failures + 1)); }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_service NAME DATA_DIR [ENV=VALUE...]: starts `requestdesk serve` on a free loopback port
# with the benchmark settings (plus the given environment) and waits for /readyz. Sets
# ${NAME}_base and ${NAME}_pid; the pid is stopped at exit.
start_service() {
  local name=$1 dir=$2 port url pid
  shift 2
  port=$(free_port)
  url=http://127.0.0.1:$port
  env REQUESTDESK_BIND=127.0.0.1:$port REQUESTDESK_DATA_DIR="$dir" REQUESTDESK_LOG_LEVEL=warn \
    REQUESTDESK_POOL_SIZE="$pool_size" REQUESTDESK_ADMIN_PASSWORD=bench-admin-password "$@" \
    "$bin/requestdesk" serve >"$work/$name.log" 2>&1 &
  pid=$!
  services+=("$pid")
  for _ in $(seq 100); do
    curl -sf "$url/readyz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/$name.log" >&2; echo "$name died" >&2; exit 1; }
    sleep 0.1
  done
  curl -sf "$url/readyz" >/dev/null || { cat "$work/$name.log" >&2; echo "$name never got ready" >&2; exit 1; }
  printf -v "${name}_base" '%s' "$url"
  printf -v "${name}_pid" '%s' "$pid"
  perf_attach "$name" "$pid"
}

# Profiling (bench/profile.sh): with BENCH_PERF_DIR set, every requestdesk service is sampled by
# `perf record` while a fragment runs. bench/run calls perf_attach for the services already up
# before it sources a fragment (start_service, for one started inside it) and perf_detach after.
# Set-up work inside a fragment (log-ins for sessions, S9's submissions) runs `unprofiled`.
perf_pids=() perf_controls=()

# perf_attach NAME PID: records PID's CPU samples with call graphs into
# $BENCH_PERF_DIR/<fragment>-NAME.perf.data, until perf_detach. perf starts paused and is
# enabled through its control fifo, held open read-write here so that a write never blocks.
perf_attach() {
  [ -n "${BENCH_PERF_DIR:-}" ] && [ -n "${perf_fragment:-}" ] || return 0
  local fifo=$work/perf-$perf_fragment-$1.control fd
  mkfifo "$fifo"
  exec {fd}<>"$fifo"
  perf record -N -e cpu-clock -F "${BENCH_PERF_FREQUENCY:-499}" --call-graph dwarf -p "$2" \
    -D -1 --control "fifo:$fifo" -o "$BENCH_PERF_DIR/$perf_fragment-$1.perf.data" \
    >"$work/perf-$perf_fragment-$1.log" 2>&1 &
  perf_pids+=("$!") perf_controls+=("$fd")
  echo enable >&"$fd"
}

# perf_detach: stops every recorder (on SIGINT perf writes out its file and exits).
perf_detach() {
  local pid fd
  for pid in "${perf_pids[@]}"; do
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for fd in "${perf_controls[@]}"; do exec {fd}>&-; done
  perf_pids=() perf_controls=()
}

# unprofiled CMD...: runs CMD with every recorder paused (not nested: it resumes them after).
unprofiled() {
  local fd status=0
  for fd in "${perf_controls[@]}"; do echo disable >&"$fd"; done
  "$@" || status=$?
  for fd in "${perf_controls[@]}"; do echo enable >&"$fd"; done
  return "$status"
}

# stop_service PID: stops one service started by start_service.
stop_service() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# token_of BASE USERNAME: logs in with the data set's password and prints the token (set-up
# work: not profiled).
token_of() {
  unprofiled curl -sf -X POST -H 'content-type: application/json' \
    -d "{\"username\":\"$2\",\"password\":\"$password\"}" "$1/api/v3/users/sessions" | jq -er .token
}

# status_of BASE TOKEN PATH: the HTTP status of one GET.
status_of() {
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $2" "$1$3"
}

# record SCENARIO NAME ROUND JSON: appends one measured run.
record() {
  jq -c --arg s "$1" --arg n "$2" --argjson r "$3" '{scenario: $s, name: $n, round: $r} + .' \
    <<<"$4" >>"$runs"
}

# wrk_get SCENARIO NAME ROUND EXPECT CONNECTIONS BASE TOKEN PATH...: one closed-loop wrk run of
# GETs rotating over PATHs; EXPECT is the status every response must have (200 or 400).
wrk_get() {
  local scenario=$1 name=$2 round=$3 expect=$4 conns=$5 url=$6 token=$7
  shift 7
  local path status out
  for path in "$@"; do
    status=$(status_of "$url" "$token" "$path")
    [ "$status" = "$expect" ] || fail "$scenario $name: $path answered $status, expected $expect"
  done
  if ! out=$(BENCH_TOKEN=$token BENCH_PATHS="$*" wrk -t1 -c"$conns" -d"${seconds}s" \
      -s bench/wrk/report.lua "$url$1" 2>&1 | tail -n 1) || ! jq -e . >/dev/null 2>&1 <<<"$out"; then
    fail "$scenario $name: wrk failed: $out"
    return
  fi
  record "$scenario" "$name" "$round" "$(jq -c --argjson c "$conns" '{connections: $c} + .' <<<"$out")"
  local errors non2xx total
  read -r errors non2xx total < <(jq -r '"\(.errors) \(.non2xx) \(.requests)"' <<<"$out")
  [ "$errors" = 0 ] || fail "$scenario $name: $errors socket errors or timeouts"
  if [ "$expect" = 200 ]; then
    [ "$non2xx" = 0 ] || fail "$scenario $name: $non2xx responses were not 2xx"
  else
    [ "$non2xx" = "$total" ] || fail "$scenario $name: only $non2xx of $total responses were errors"
  fi
  [ "$total" -gt 0 ] || fail "$scenario $name: no request completed"
}

# bench_sql_run SCENARIO NAME ROUND ARGS...: one run of the in-process loop (`bench_sql ARGS`).
bench_sql_run() {
  local scenario=$1 name=$2 round=$3 out
  shift 3
  if ! out=$("$bin/bench_sql" --pool-size "$pool_size" --seconds "$seconds" "$@" 2>&1 | tail -n 1) \
      || ! jq -e . >/dev/null 2>&1 <<<"$out"; then
    fail "$scenario $name: bench_sql failed: $out"
    return
  fi
  record "$scenario" "$name" "$round" "$out"
}

# summarize JQ_OBJECT: declares summary figures, a jq object expression evaluated over the array
# of runs with `med(scenario; name; field)` (the median over rounds) and `ratio(a; b)` defined.
summarize() {
  printf '%s\0' "$(for_database "$1")" >>"$work/summary.jq.parts"
}

# table_row JQ_ARRAY: declares one row of the printed table, a jq array of 6 strings
# (#, scenario, figure, reference, ratio, target) evaluated over the summary, numbers rounded.
table_row() {
  printf '%s\0' "$(for_database "$1")" >>"$work/rows.jq.parts"
}

# for_database TEXT: TEXT with @pg and @db replaced by the current database's tag and label.
for_database() {
  local text=${1//@pg/${db_tag:-}}
  printf '%s' "${text//@db/${db_label:-}}"
}

# databases: the databases the per-database scenarios run on, in order (BENCH_DATABASES, default
# `sqlite postgres`).
databases() {
  echo "${BENCH_DATABASES:-sqlite postgres}"
}

# use_database sqlite|postgres: points a per-database scenario at that database's service:
#   $db $db_label $db_tag   sqlite SQLite "" | postgres PostgreSQL pg
#   $db_base $db_pid $db_log  the service's URL, pid and log file
#   $db_url $db_dir         the database (for bench_sql) and the service's data directory (its CA)
#   $db_light_token         a session of `light` on that service
#   $db_rounds              $rounds, or 1 for PostgreSQL in smoke mode (to keep the smoke run short)
# Returns 1 when PostgreSQL cannot be set up (postgres_service has then failed the run).
use_database() {
  db=$1 db_rounds=$rounds
  case $db in
    sqlite)
      db_label=SQLite db_tag='' db_base=$base db_pid=$service db_log=$work/sqlite.log
      db_url=sqlite://$data/requestdesk.db db_dir=$data db_light_token=$light_token
      ;;
    postgres)
      postgres_service || return 1
      db_label=PostgreSQL db_tag=pg db_base=$pg_base db_pid=$pg_pid db_log=$work/pg.log
      db_url=$pg_url db_dir=$data/postgres db_light_token=$pg_light_token
      [ "$mode" = full ] || db_rounds=1
      ;;
    *) fail "BENCH_DATABASES: unknown database $db (sqlite or postgres)"; return 1 ;;
  esac
}

jq_prelude='
  def median: sort | if length == 0 then null
    elif length % 2 == 1 then .[length / 2 | floor]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def med($s; $n; $f): [.[] | select(.scenario == $s and .name == $n) | .[$f]
    | select(. != null)] | median;
  def ratio($a; $b): if $a == null or $b == null or $b == 0 then null
    else ($a / $b * 1000 | round) / 1000 end;'

# The summary: every declared part, merged left to right (a later part sees the earlier ones
# as `$s`).
build_summary() {
  local summary='{}' part
  while IFS= read -r -d '' part; do
    summary=$(jq -s --argjson s "$summary" "$jq_prelude \$s + ($part)" "$runs") \
      || { fail "summary part failed: $part"; continue; }
  done <"$work/summary.jq.parts"
  printf '%s\n' "$summary"
}

# print_table SUMMARY_FILE: the declared rows, as an aligned table.
print_table() {
  local rows='' part
  while IFS= read -r -d '' part; do rows+="${rows:+, }$part"; done <"$work/rows.jq.parts"
  jq -r ".summary | map_values(if type == \"number\" then (. * 100 | round) / 100 else . end)
    | [[\"#\", \"scenario\", \"figure\", \"reference\", \"ratio\", \"target\"], $rows] | .[] | @tsv" \
    "$1" | column -t -s $'\t'
}

# heavy_vs_light SCENARIO KEY LABEL BASE HEAVY_TOKEN LIGHT_TOKEN: S8 on one database. The heavy
# user's dashboard and stats against the light user's, one connection, in rounds; summary keys
# KEY_{dashboard,stats}_{heavy,light}_p50_ms and KEY_{dashboard,stats}_ratio.
heavy_vs_light() {
  local scenario=$1 key=$2 label=$3 url=$4 round what
  local -A tokens=([heavy]=$5 [light]=$6)
  for round in $(seq "$rounds"); do
    for who in heavy light; do
      wrk_get "$scenario" "dashboard-$who" "$round" 200 1 "$url" "${tokens[$who]}" '/api/v3/myrequests?per_page=20'
      wrk_get "$scenario" "stats-$who" "$round" 200 1 "$url" "${tokens[$who]}" /api/v3/myrequests/stats
    done
  done
  for what in dashboard stats; do
    summarize "{${key}_${what}_heavy_p50_ms: med(\"$scenario\"; \"$what-heavy\"; \"p50_ms\"),
      ${key}_${what}_light_p50_ms: med(\"$scenario\"; \"$what-light\"; \"p50_ms\")}
      | . + {${key}_${what}_ratio: ratio(.${key}_${what}_heavy_p50_ms; .${key}_${what}_light_p50_ms)}"
    table_row "[\"S8\", \"$label $what heavy/light p50\", \"\\(.${key}_${what}_heavy_p50_ms) / \\(.${key}_${what}_light_p50_ms) ms\", \"light\", \"\\(.${key}_${what}_ratio)\", \"<= 3\"]"
  done
}
