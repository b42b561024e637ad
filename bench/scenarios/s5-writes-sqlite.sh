# S5: writes on SQLite. One user (the data set's last but one, used by no other scenario)
# submits certificate requests and cancels each one (a distinct pending request per cancel),
# 16 connections, against `bench_sql --what submit-cancel`: the service's own submit and cancel
# functions with a Context built as `serve` builds it, on as many threads as the pool. Each CSR
# has a fresh key (the CA refuses a second pending request for one key); wrk cycles over a file
# of them, the loop over its own. Every response's status is checked; the service's log is
# searched for "database is locked" (answered 503 "the database is busy"). Figure: submit+cancel
# pairs per second (two write transactions each).
s5_user=$(printf 'user%07d' $((users - 1)))
s5_token=$(token_of "$base" "$s5_user")
s5_keys=4096
[ "$mode" = smoke ] && s5_keys=512
if ! "$bin/bench_sql" --what csrs --count "$s5_keys" >"$work/s5-csrs.jsonl" \
    || [ "$(wc -l <"$work/s5-csrs.jsonl")" -ne "$s5_keys" ]; then
  fail "S5: bench_sql --what csrs failed"
fi

# s5_locked: how many times the service has logged a locked database so far.
s5_locked() {
  grep -c -e 'database is locked' -e 'database is busy' "$work/sqlite.log" || true
}

# s5_cancel_leftovers: cancels the user's requests still pending (those submitted when wrk
# stopped), so the next run's keys are free and runs start alike.
s5_cancel_leftovers() {
  local id
  for _ in 1 2 3; do
    local ids
    ids=$(curl -sf -H "Authorization: Bearer $s5_token" \
      "$base/api/v3/myrequests?status=pending&per_page=100" | jq -r '.requests.items[].id') \
      || { fail "S5: listing pending requests failed"; return; }
    [ -n "$ids" ] || return 0
    for id in $ids; do
      curl -sf -o /dev/null -X POST -H "Authorization: Bearer $s5_token" \
        "$base/api/v3/myrequests/$id/cancel" || fail "S5: cancelling leftover request $id failed"
    done
  done
}

for round in $(seq "$rounds"); do
  s5_before=$(s5_locked)
  if ! s5_out=$(BENCH_TOKEN=$s5_token BENCH_CSRS=$work/s5-csrs.jsonl wrk -t1 -c"$connections" \
      -d"${seconds}s" --timeout 10s -s bench/wrk/submit-cancel.lua "$base" 2>&1 | tail -n 1) \
      || ! jq -e . >/dev/null 2>&1 <<<"$s5_out"; then
    fail "S5 http: wrk failed: $s5_out"
  else
    s5_locked_now=$(($(s5_locked) - s5_before))
    record S5 http "$round" "$(jq -c --argjson c "$connections" --argjson l "$s5_locked_now" \
      '{connections: $c, locked: $l} + .' <<<"$s5_out")"
    jq -e '.errors == 0 and .server_errors == 0 and .other == 0 and .no_id == 0
      and .cancelled > 0' >/dev/null <<<"$s5_out" || fail "S5 http: broken answers: $s5_out"
    [ "$s5_locked_now" -eq 0 ] || fail "S5 http: $s5_locked_now 'database is locked' in the log"
  fi
  s5_cancel_leftovers
  bench_sql_run S5 ceiling "$round" --database-url "sqlite://$data/requestdesk.db" \
    --what submit-cancel --user "$s5_user" --count "$s5_keys"
done
summarize '{s5_pairs: med("S5"; "http"; "pairs_per_second"),
  s5_p99_ms: med("S5"; "http"; "p99_ms"), s5_ceiling_pairs: med("S5"; "ceiling"; "ops_per_second"),
  s5_locked: ([.[] | select(.scenario == "S5" and .name == "http") | .locked] | add)}
  | . + {s5_ratio: ratio(.s5_pairs; .s5_ceiling_pairs)}'
table_row '["S5", "submit + cancel, SQLite (16)", "\(.s5_pairs) pairs/s, p99 \(.s5_p99_ms) ms, locked \(.s5_locked)", "loop \(.s5_ceiling_pairs) pairs/s", "\(.s5_ratio)", ">= 0.4, 0 locked"]'
