# S6: mixed open-loop load at 70% of S2's throughput: 80% dashboard (page of 20), 10% stats,
# 5% certificate submissions, 4% cancels of those, 1% log-ins, scheduled at a fixed rate by
# examples/loadgen.rs (latency from the scheduled time: no coordinated omission), while the
# service's resident memory is sampled every second.
#
# Log-in is bcrypt at cost 12 (a quarter of a second of one core): 1% of S2's rate is more
# log-ins per second than two cores can hash, so the issue's mix (`mix`) is answered 503 for part
# of its log-ins. A second run per round (`mix-login-capped`, BENCH_S6_VARIANT=0 to skip) keeps
# everything else and caps log-ins at a quarter of what the machine can hash, to show the rest of
# the mix on its own. The rate is a fixed schedule: when the service cannot keep it, requests
# queue and their latency (from the scheduled time) shows it; `achieved_rps` is what completed.
#
# Knobs: BENCH_S6_RATE (requests/s; default 70% of S2's median, or 500 when S2 did not run),
# BENCH_S6_SECONDS (default 60, smoke 3), BENCH_S6_VARIANT.
s6_seconds=${BENCH_S6_SECONDS:-$([ "$mode" = smoke ] && echo 3 || echo 60)}
s6_s2_rps=$(jq -s "$jq_prelude"' med("S2"; "http"; "rps") // empty' "$runs")
if [ -n "${BENCH_S6_RATE:-}" ]; then
  s6_rate=$BENCH_S6_RATE
elif [ -n "$s6_s2_rps" ]; then
  s6_rate=$(jq -n --argjson r "$s6_s2_rps" '$r * 0.7 | round')
else
  s6_rate=500
  log "S6: no S2 run to scale from: $s6_rate requests/s"
fi
s6_readers=(light user0000003 user0000004)
s6_writers=(user0000005 user0000006)
s6_issue_mix='dashboard=80,stats=10,submit=5,cancel=4,login=1'

# s6_run NAME ROUND MIX: one loadgen run, recorded; fails only on broken answers.
s6_run() {
  local name=$1 round=$2 mix=$3 out args=() user
  for user in "${s6_readers[@]}"; do args+=(--reader "$user:${s6_tokens[$user]}"); done
  for user in "${s6_writers[@]}"; do args+=(--writer "$user:${s6_tokens[$user]}"); done
  if ! out=$("$loadgen" mixed --base "$base" --rate "$s6_rate" --seconds "$s6_seconds" \
      --password "$password" --mix "$mix" --rss-pid "$service" "${args[@]}" 2>&1 | tail -n 1) \
      || ! jq -e .completed >/dev/null 2>&1 <<<"$out"; then
    fail "S6 $name: loadgen failed: $out"
    return
  fi
  record S6 "$name" "$round" "$(jq -c '.rss_start_mib = (if .rss_start_kib then .rss_start_kib / 1024 else null end)
    | .rss_peak_mib = (if .rss_peak_kib then .rss_peak_kib / 1024 else null end)' <<<"$out")"
  local broken completed first
  read -r broken completed < <(jq -r '"\(.broken) \(.completed)"' <<<"$out")
  first=$(jq -r '.first_socket_error // ""' <<<"$out")
  [ "$broken" = 0 ] || fail "S6 $name: $broken answers were wrong (not the expected status, 503 or 429) or socket errors $first: $(jq -c '.ops | map_values(.statuses)' <<<"$out")"
  [ "$completed" -gt 0 ] || fail "S6 $name: no request completed"
}

if ! [ -x "$loadgen" ]; then
  fail "S6: no load generator at $loadgen"
else
  # Log every user in once, one at a time, timing each: the fastest is one bcrypt verification
  # on an otherwise idle service.
  declare -A s6_tokens
  s6_login_ms=''
  for user in "${s6_readers[@]}" "${s6_writers[@]}"; do
    s6_started=$(date +%s.%N)
    s6_tokens[$user]=$(token_of "$base" "$user")
    s6_ms=$(echo "($(date +%s.%N) - $s6_started) * 1000" | bc)
    s6_login_ms=$(jq -n --argjson a "${s6_login_ms:-null}" --argjson b "$s6_ms" '[$a, $b] | map(select(. != null)) | min')
  done
  # The variant: the issue's shares for the rest (weights per 100,000), log-ins at a quarter
  # of what the machine can hash (cores / one log-in's time).
  s6_login_rate=$(jq -n --argjson cores "$(nproc)" --argjson ms "$s6_login_ms" \
    '0.25 * $cores / ($ms / 1000) * 100 | round / 100')
  s6_variant_mix=$(jq -nr --argjson l "$s6_login_rate" --argjson r "$s6_rate" '
    ($l / $r * 100000 | round | if . < 1 then 1 else . end) as $w
    | "dashboard=80000,stats=10000,submit=5000,cancel=4000,login=\($w)"')
  record S6 login "1" "$(jq -n --argjson ms "$s6_login_ms" --argjson r "$s6_login_rate" \
    --argjson rate "$s6_rate" --argjson cores "$(nproc)" \
    '{login_ms: $ms, hash_capacity_per_second: ($cores / ($ms / 1000) * 100 | round / 100),
      issue_mix_logins_per_second: ($rate * 0.01), variant_logins_per_second: $r}')"
  for round in $(seq "$rounds"); do
    s6_run mix "$round" "$s6_issue_mix"
    [ "${BENCH_S6_VARIANT:-1}" = 1 ] || continue
    [ "$mode" = full ] || [ "$round" = 1 ] || continue  # smoke: the variant once
    s6_run mix-login-capped "$round" "$s6_variant_mix"
  done
fi

summarize '{s6_rate: med("S6"; "mix"; "rate"), s6_achieved_rps: med("S6"; "mix"; "achieved_rps"),
  s6_reads_p99_ms: med("S6"; "mix"; "reads_p99_ms"), s6_writes_p99_ms: med("S6"; "mix"; "writes_p99_ms"),
  s6_login_p50_ms: med("S6"; "mix"; "login_p50_ms"), s6_errors: med("S6"; "mix"; "errors"),
  s6_login_503: med("S6"; "mix"; "login_503"), s6_login_count: med("S6"; "mix"; "login_count"),
  s6_rss_start_mib: med("S6"; "mix"; "rss_start_mib"), s6_rss_peak_mib: med("S6"; "mix"; "rss_peak_mib"),
  s6_rss_growth_end_pct: med("S6"; "mix"; "rss_growth_end_pct"),
  s6_rss_growth_peak_pct: med("S6"; "mix"; "rss_growth_peak_pct"),
  s6v_login_count: med("S6"; "mix-login-capped"; "login_count"),
  s6v_reads_p99_ms: med("S6"; "mix-login-capped"; "reads_p99_ms"),
  s6v_writes_p99_ms: med("S6"; "mix-login-capped"; "writes_p99_ms"),
  s6v_login_p99_ms: med("S6"; "mix-login-capped"; "login_p99_ms"),
  s6v_errors: med("S6"; "mix-login-capped"; "errors"),
  s6_login_ms: med("S6"; "login"; "login_ms"),
  s6_hash_capacity: med("S6"; "login"; "hash_capacity_per_second"),
  s6_logins_wanted: med("S6"; "login"; "issue_mix_logins_per_second")}
  | . + {s6_rate_of_s2: ratio(.s6_rate; $s.s2_rps),
    s6_login_demand_ratio: ratio(.s6_logins_wanted; .s6_hash_capacity)}'
table_row '["S6", "open-loop mix @ \(.s6_rate) rps", "reads p99 \(.s6_reads_p99_ms) ms, writes p99 \(.s6_writes_p99_ms) ms", "S2 \(.s2_rps) rps (x \(.s6_rate_of_s2))", "errors \(.s6_errors) (log-in 503: \(.s6_login_503) of \(.s6_login_count))", "0 errors; p99 <= 25 / 50 ms"]'
table_row '["S6", "memory during the mix", "RSS \(.s6_rss_start_mib) -> peak \(.s6_rss_peak_mib) MiB", "start", "+\(.s6_rss_growth_end_pct)% end, +\(.s6_rss_growth_peak_pct)% peak", "<= 10%, <= 64 MiB"]'
table_row '["S6", "log-ins of the mix (bcrypt 12)", "\(.s6_logins_wanted) /s wanted", "hash capacity \(.s6_hash_capacity) /s (\(.s6_login_ms) ms each)", "x \(.s6_login_demand_ratio) capacity", "finding"]'
table_row '["S6v", "same, log-ins capped (\(.s6v_login_count) in the run)", "reads p99 \(.s6v_reads_p99_ms) ms, writes p99 \(.s6v_writes_p99_ms) ms", "log-in p99 \(.s6v_login_p99_ms) ms", "errors \(.s6v_errors)", "variant (not the issue mix)"]'
