# S4, on each database (S4pg on PostgreSQL): a log-in storm (POST /api/v3/users/sessions, 32
# connections, rotating over seeded users with the right password so no lock-out fires) while
# the dashboard as `light` (S2's load, 16 connections) runs on the same service, with a slow
# /healthz probe (1 connection, a request every 10 ms). Ceiling: `bench_sql --what
# password-verify`, bcrypt verifications of the data set's hash on every core. Each round: the
# ceiling, the dashboard alone (with the probe), the storm alone (full mode only), then the
# storm, the dashboard and the probe together. Targets: log-ins >= 85% of the ceiling, the
# dashboard keeps >= 50% of its solo throughput, /healthz p99 <= 50 ms, excess log-ins answered
# 429/503 (the service waits 1.5 s for a hashing slot), never a timeout. wrk's timeout is 10 s
# so a slow answer shows as a latency rather than a socket error.
s4_dashboard='/api/v3/myrequests?per_page=20'
s4_storm_users=$((users - 3)) # user0000003 ... user<users - 1>; the last is S5's

# s4_start NAME CONNECTIONS SCRIPT URL [ENV=V...]: one wrk run in the background, its JSON line
# into $work/s4-NAME.json.
s4_start() {
  local name=$1 conns=$2 script=$3 url=$4
  shift 4
  env "$@" wrk -t1 -c"$conns" -d"${seconds}s" --timeout 10s -s "$script" "$url" \
    >"$work/s4-$name.out" 2>&1 &
  s4_pids+=("$!")
}

# s4_wait: waits for the wrk runs started so far (not for the services, also background jobs).
s4_wait() {
  local pid
  for pid in "${s4_pids[@]}"; do wait "$pid" || true; done
  s4_pids=()
}
s4_pids=()

# s4_check NAME ROUND KIND CONNECTIONS: records a finished run, failing on anything broken.
# KIND is get (every response must be 2xx) or login (only 201, 429 and 503 are expected).
s4_check() {
  local name=$1 round=$2 kind=$3 conns=$4 out
  out=$(tail -n 1 "$work/s4-$name.out")
  if ! jq -e . >/dev/null 2>&1 <<<"$out"; then
    fail "S4$db_tag $name: wrk failed: $(tail -n 3 "$work/s4-$name.out")"
    return
  fi
  record "S4$db_tag" "$name" "$round" "$(jq -c --argjson c "$conns" '{connections: $c} + .' <<<"$out")"
  jq -e '.errors == 0' >/dev/null <<<"$out" || fail "S4$db_tag $name: socket errors or timeouts: $out"
  # A debug build (CI's smoke run) verifies one cost-12 password in ~2 s: a 2 s storm may
  # complete none, which is slow, not broken.
  if [ "$kind" = get ] || [ "$mode" = full ]; then
    jq -e '.requests > 0' >/dev/null <<<"$out" || fail "S4$db_tag $name: no request completed"
  fi
  case $kind in
    get) jq -e '.non2xx == 0' >/dev/null <<<"$out" || fail "S4$db_tag $name: non-2xx answers: $out" ;;
    login) jq -e '.other == 0' >/dev/null <<<"$out" \
      || fail "S4$db_tag $name: log-ins answered other than 201/429/503: $out" ;;
  esac
}

s4_storm() {
  s4_start "$1" 32 bench/wrk/login.lua "$db_base/api/v3/users/sessions" \
    BENCH_USER_FIRST=3 BENCH_USER_COUNT="$s4_storm_users" BENCH_PASSWORD="$password"
}
s4_s2() {
  s4_start "$1" "$connections" bench/wrk/report.lua "$db_base$s4_dashboard" \
    BENCH_TOKEN="$db_light_token" BENCH_PATHS="$s4_dashboard"
}
# s4_login_probe NAME: during the storm, one log-in at a time with curl (~every 0.2 s), whose
# status and time are known one by one (wrk only knows latencies of all answers together):
# records the slowest 201 and the slowest 429/503.
s4_login_probe() {
  local name=$1
  (
    end=$(($(date +%s%N) + seconds * 1000000000))
    while [ "$(date +%s%N)" -lt "$end" ]; do
      curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 -X POST \
        -H 'content-type: application/json' \
        -d "{\"username\":\"light\",\"password\":\"$password\"}" "$db_base/api/v3/users/sessions"
      sleep 0.2
    done
  ) >"$work/s4-$name.samples" 2>&1 &
  s4_pids+=("$!")
}

# s4_login_probe_check NAME ROUND: records the probe's samples.
s4_login_probe_check() {
  local name=$1 round=$2 out
  out=$(awk '{n++; t = $2 * 1000}
    $1 == 201 {ok++; if (t > okmax) okmax = t}
    $1 == 429 || $1 == 503 {no++; if (t > nomax) nomax = t}
    $1 != 201 && $1 != 429 && $1 != 503 {bad++; badstatus = $1}
    END {printf "{\"samples\":%d,\"created\":%d,\"refused\":%d,\"other\":%d,\"other_status\":\"%s\",\"created_max_ms\":%.1f,\"refused_max_ms\":%.1f}\n",
      n, ok, no, bad, badstatus, okmax, nomax}' "$work/s4-$name.samples")
  record "S4$db_tag" "$name" "$round" "$out"
  jq -e '.other == 0' >/dev/null <<<"$out" \
    || fail "S4$db_tag $name: a log-in answered other than 201/429/503 (000: no answer in 10 s): $out"
}

s4_probe() {
  s4_start "$1" 1 bench/wrk/probe.lua "$db_base/healthz" BENCH_TOKEN= BENCH_PATHS=/healthz
}

for database in $(databases); do
  use_database "$database" || continue
  for round in $(seq "$db_rounds"); do
    bench_sql_run "S4$db_tag" ceiling "$round" --database-url "$db_url" \
      --what password-verify --user light --password "$password"

    s4_s2 s2-solo
    s4_probe healthz-solo
    s4_wait
    s4_check s2-solo "$round" get "$connections"
    s4_check healthz-solo "$round" get 1

    if [ "$mode" = full ]; then
      s4_storm storm-solo
      s4_wait
      s4_check storm-solo "$round" login 32
      sleep 1 # lets the log-ins still hashing when wrk stopped finish
    fi

    s4_storm storm
    s4_s2 s2-storm
    s4_probe healthz-storm
    s4_login_probe login-probe
    s4_wait
    s4_check storm "$round" login 32
    s4_login_probe_check login-probe "$round"
    s4_check s2-storm "$round" get "$connections"
    s4_check healthz-storm "$round" get 1
    [ "$mode" = smoke ] || sleep 1
  done
  summarize '{s4@pg_ceiling_verifies: med("S4@pg"; "ceiling"; "ops_per_second"),
    s4@pg_logins: med("S4@pg"; "storm"; "created_per_second"),
    s4@pg_logins_solo: med("S4@pg"; "storm-solo"; "created_per_second"),
    s4@pg_rejected: med("S4@pg"; "storm"; "status_503"), s4@pg_locked: med("S4@pg"; "storm"; "status_429"),
    s4@pg_login_max_ms: med("S4@pg"; "storm"; "max_ms"),
    s4@pg_refused_max_ms: med("S4@pg"; "login-probe"; "refused_max_ms"),
    s4@pg_created_max_ms: med("S4@pg"; "login-probe"; "created_max_ms"),
    s4@pg_s2_solo_rps: med("S4@pg"; "s2-solo"; "rps"), s4@pg_s2_storm_rps: med("S4@pg"; "s2-storm"; "rps"),
    s4@pg_s2_storm_p99_ms: med("S4@pg"; "s2-storm"; "p99_ms"),
    s4@pg_healthz_solo_p99_ms: med("S4@pg"; "healthz-solo"; "p99_ms"),
    s4@pg_healthz_storm_p99_ms: med("S4@pg"; "healthz-storm"; "p99_ms")}
    | . + {s4@pg_logins_ratio: ratio(.s4@pg_logins; .s4@pg_ceiling_verifies),
      s4@pg_logins_solo_ratio: ratio(.s4@pg_logins_solo; .s4@pg_ceiling_verifies),
      s4@pg_s2_kept: ratio(.s4@pg_s2_storm_rps; .s4@pg_s2_solo_rps)}'
  table_row '["S4@pg", "log-in storm (32) with the dashboard, @db", "\(.s4@pg_logins) log-ins/s (alone \(.s4@pg_logins_solo)), 503s \(.s4@pg_rejected), max \(.s4@pg_login_max_ms) ms", "bcrypt loop \(.s4@pg_ceiling_verifies)/s", "\(.s4@pg_logins_ratio)", ">= 0.85"]'
  table_row '["S4@pg", "log-in answers, slowest (sampled)", "429/503 \(.s4@pg_refused_max_ms) ms, 201 \(.s4@pg_created_max_ms) ms", "-", "-", "429/503 <= 2 s"]'
  table_row '["S4@pg", "the dashboard during the storm", "\(.s4@pg_s2_storm_rps) rps, p99 \(.s4@pg_s2_storm_p99_ms) ms", "alone \(.s4@pg_s2_solo_rps) rps", "\(.s4@pg_s2_kept)", ">= 0.5"]'
  table_row '["S4@pg", "/healthz p99 during the storm", "\(.s4@pg_healthz_storm_p99_ms) ms", "alone \(.s4@pg_healthz_solo_p99_ms) ms", "-", "<= 50 ms"]'
done
