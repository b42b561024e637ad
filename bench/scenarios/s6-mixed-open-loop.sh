# S6, on each database (S6pg on PostgreSQL): mixed open-loop load at 70% of the dashboard's
# throughput on that database (S2 on SQLite, S3 on PostgreSQL): 80% dashboard (page of 20), 10%
# stats, 5% certificate submissions, 4% cancels of those, 1% log-ins, scheduled at a fixed rate
# by examples/loadgen.rs (latency from the scheduled time: no coordinated omission), while the
# service's resident memory is sampled every second.
#
# Log-in is bcrypt at cost 12 (a quarter of a second of one core): 1% of S2's rate is more
# log-ins per second than two cores can hash, so the issue's mix (`mix`) is answered 503 for part
# of its log-ins. A second run per round (`mix-login-capped`, BENCH_S6_VARIANT=0 to skip) keeps
# everything else and caps log-ins at a quarter of what the machine can hash, to show the rest of
# the mix on its own. The rate is a fixed schedule: when the service cannot keep it, requests
# queue and their latency (from the scheduled time) shows it; `achieved_rps` is what completed.
#
# Knobs: BENCH_S6_RATE (requests/s, on both databases; default 70% of the dashboard's median, or
# 500 when it did not run), BENCH_S6_SECONDS (default 60, smoke 3), BENCH_S6_VARIANT.
s6_seconds=${BENCH_S6_SECONDS:-$([ "$mode" = smoke ] && echo 3 || echo 60)}
s6_readers=(light user0000003 user0000004) # light first: its session is the run's
s6_writers=(user0000005 user0000006)
s6_issue_mix='dashboard=80,stats=10,submit=5,cancel=4,login=1'

# s6_rate_of SCENARIO: the rate (BENCH_S6_RATE, or 70% of SCENARIO's median dashboard throughput,
# or 500 when SCENARIO did not run). A smoke run takes 30%: it checks answers, not speed, and CI
# runs it on debug builds, whose log-ins, signatures and CSR checks cost many times more against
# the dashboard than in release. At 70% the debug service fell behind by seconds, and an actix
# worker that late polls a connection's keep-alive timer (5 s) before its socket: a request
# already sent on a reused connection is closed unanswered ("connection closed before message
# completed", twice in 2,300 requests in CI).
s6_rate_of() {
  local rps share
  share=$([ "$mode" = smoke ] && echo 0.3 || echo 0.7)
  rps=$(jq -s "$jq_prelude"' med("'"$1"'"; "http"; "rps") // empty' "$runs")
  if [ -n "${BENCH_S6_RATE:-}" ]; then
    echo "$BENCH_S6_RATE"
  elif [ -n "$rps" ]; then
    jq -n --argjson r "$rps" --argjson share "$share" '$r * $share | round'
  else
    log "S6$db_tag: no $1 run to scale from: 500 requests/s"
    echo 500
  fi
}

# s6_run NAME ROUND MIX: one loadgen run, recorded; fails only on broken answers.
s6_run() {
  local name=$1 round=$2 mix=$3 out args=() user log_from
  log_from=$(($(stat -c %s "$db_log") + 1)) # this run's part of the service's log
  for user in "${s6_readers[@]}"; do args+=(--reader "$user:${s6_tokens[$user]}"); done
  for user in "${s6_writers[@]}"; do args+=(--writer "$user:${s6_tokens[$user]}"); done
  if ! out=$("$loadgen" mixed --base "$db_base" --rate "$s6_rate" --seconds "$s6_seconds" \
      --password "$password" --mix "$mix" --rss-pid "$db_pid" "${args[@]}" 2>&1 | tail -n 1) \
      || ! jq -e .completed >/dev/null 2>&1 <<<"$out"; then
    fail "S6$db_tag $name: loadgen failed: $out"
    return
  fi
  record "S6$db_tag" "$name" "$round" "$(jq -c '.rss_start_mib = (if .rss_start_kib then .rss_start_kib / 1024 else null end)
    | .rss_peak_mib = (if .rss_peak_kib then .rss_peak_kib / 1024 else null end)' <<<"$out")"
  local broken completed first
  read -r broken completed < <(jq -r '"\(.broken) \(.completed)"' <<<"$out")
  first=$(jq -r '.first_socket_error // ""' <<<"$out")
  if [ "$broken" != 0 ]; then
    fail "S6$db_tag $name: $broken answers were wrong (not the expected status, 503 or 429) or socket errors $first: $(jq -c '.ops | map_values(.statuses)' <<<"$out")"
    # A handler that panicked drops its connection: a socket error with the cause in the log.
    tail -c +"$log_from" "$db_log" | grep -m 5 -E 'panicked| ERROR ' >&2 || true
  fi
  [ "$completed" -gt 0 ] || fail "S6$db_tag $name: no request completed"
}

# s6_log_in DASHBOARD_SCENARIO: logs every user but `light` (whose session the run already has)
# in once, one at a time, timing each (the fastest is one bcrypt verification on an otherwise
# idle service), into s6_tokens; sets the rate and the variant's mix: the issue's shares for the
# rest (weights per 100,000), log-ins at a quarter of what the machine can hash (cores / one
# log-in's time); records them as the run `login`.
s6_log_in() {
  local user started ms login_ms='' login_rate dashboard_rps
  declare -gA s6_tokens=([light]=$db_light_token)
  for user in "${s6_readers[@]:1}" "${s6_writers[@]}"; do
    started=$(date +%s.%N)
    s6_tokens[$user]=$(token_of "$db_base" "$user")
    ms=$(echo "($(date +%s.%N) - $started) * 1000" | bc)
    login_ms=$(jq -n --argjson a "${login_ms:-null}" --argjson b "$ms" '[$a, $b] | map(select(. != null)) | min')
  done
  s6_rate=$(s6_rate_of "$1")
  login_rate=$(jq -n --argjson cores "$(nproc)" --argjson ms "$login_ms" \
    '0.25 * $cores / ($ms / 1000) * 100 | round / 100')
  s6_variant_mix=$(jq -nr --argjson l "$login_rate" --argjson r "$s6_rate" '
    ($l / $r * 100000 | round | if . < 1 then 1 else . end) as $w
    | "dashboard=80000,stats=10000,submit=5000,cancel=4000,login=\($w)"')
  dashboard_rps=$(jq -s "$jq_prelude"' med("'"$1"'"; "http"; "rps")' "$runs")
  record "S6$db_tag" login 1 "$(jq -n --argjson ms "$login_ms" --argjson r "$login_rate" \
    --argjson rate "$s6_rate" --argjson cores "$(nproc)" --argjson d "$dashboard_rps" \
    '{login_ms: $ms, hash_capacity_per_second: ($cores / ($ms / 1000) * 100 | round / 100),
      issue_mix_logins_per_second: ($rate * 0.01), variant_logins_per_second: $r,
      dashboard_rps: $d}')"
}

if ! [ -x "$loadgen" ]; then
  fail "S6: no load generator at $loadgen"
else
  for database in $(databases); do
    use_database "$database" || continue
    s6_log_in "$([ "$db" = sqlite ] && echo S2 || echo S3)"
    for round in $(seq "$db_rounds"); do
      s6_run mix "$round" "$s6_issue_mix"
      [ "${BENCH_S6_VARIANT:-1}" = 1 ] || continue
      [ "$mode" = full ] || [ -z "${s6_variant_done:-}" ] || continue # smoke: the variant once
      s6_run mix-login-capped "$round" "$s6_variant_mix"
      s6_variant_done=1
    done
    summarize '{s6@pg_rate: med("S6@pg"; "mix"; "rate"), s6@pg_achieved_rps: med("S6@pg"; "mix"; "achieved_rps"),
      s6@pg_reads_p99_ms: med("S6@pg"; "mix"; "reads_p99_ms"), s6@pg_writes_p99_ms: med("S6@pg"; "mix"; "writes_p99_ms"),
      s6@pg_login_p50_ms: med("S6@pg"; "mix"; "login_p50_ms"), s6@pg_errors: med("S6@pg"; "mix"; "errors"),
      s6@pg_login_503: med("S6@pg"; "mix"; "login_503"), s6@pg_login_count: med("S6@pg"; "mix"; "login_count"),
      s6@pg_rss_start_mib: med("S6@pg"; "mix"; "rss_start_mib"), s6@pg_rss_peak_mib: med("S6@pg"; "mix"; "rss_peak_mib"),
      s6@pg_rss_growth_end_pct: med("S6@pg"; "mix"; "rss_growth_end_pct"),
      s6@pg_rss_growth_peak_pct: med("S6@pg"; "mix"; "rss_growth_peak_pct"),
      s6v@pg_login_count: med("S6@pg"; "mix-login-capped"; "login_count"),
      s6v@pg_reads_p99_ms: med("S6@pg"; "mix-login-capped"; "reads_p99_ms"),
      s6v@pg_writes_p99_ms: med("S6@pg"; "mix-login-capped"; "writes_p99_ms"),
      s6v@pg_login_p99_ms: med("S6@pg"; "mix-login-capped"; "login_p99_ms"),
      s6v@pg_errors: med("S6@pg"; "mix-login-capped"; "errors"),
      s6@pg_login_ms: med("S6@pg"; "login"; "login_ms"),
      s6@pg_hash_capacity: med("S6@pg"; "login"; "hash_capacity_per_second"),
      s6@pg_logins_wanted: med("S6@pg"; "login"; "issue_mix_logins_per_second"),
      s6@pg_dashboard_rps: med("S6@pg"; "login"; "dashboard_rps")}
      | . + {s6@pg_rate_of_dashboard: ratio(.s6@pg_rate; .s6@pg_dashboard_rps),
        s6@pg_login_demand_ratio: ratio(.s6@pg_logins_wanted; .s6@pg_hash_capacity)}'
    table_row '["S6@pg", "open-loop mix, @db, @ \(.s6@pg_rate) rps", "reads p99 \(.s6@pg_reads_p99_ms) ms, writes p99 \(.s6@pg_writes_p99_ms) ms", "dashboard \(.s6@pg_dashboard_rps) rps (x \(.s6@pg_rate_of_dashboard))", "errors \(.s6@pg_errors) (log-in 503: \(.s6@pg_login_503) of \(.s6@pg_login_count))", "0 errors; p99 <= 25 / 50 ms"]'
    table_row '["S6@pg", "memory during the mix", "RSS \(.s6@pg_rss_start_mib) -> peak \(.s6@pg_rss_peak_mib) MiB", "start", "+\(.s6@pg_rss_growth_end_pct)% end, +\(.s6@pg_rss_growth_peak_pct)% peak", "<= 10%, <= 64 MiB"]'
    table_row '["S6@pg", "log-ins of the mix (bcrypt 12)", "\(.s6@pg_logins_wanted) /s wanted", "hash capacity \(.s6@pg_hash_capacity) /s (\(.s6@pg_login_ms) ms each)", "x \(.s6@pg_login_demand_ratio) capacity", "finding"]'
    table_row '["S6v@pg", "same, log-ins capped (\(.s6v@pg_login_count) in the run)", "reads p99 \(.s6v@pg_reads_p99_ms) ms, writes p99 \(.s6v@pg_writes_p99_ms) ms", "log-in p99 \(.s6v@pg_login_p99_ms) ms", "errors \(.s6v@pg_errors)", "variant (not the issue mix)"]'
  done
fi
