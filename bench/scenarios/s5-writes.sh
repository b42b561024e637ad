# S5, on each database (S5pg on PostgreSQL): writes. One user (the data set's last but one, used
# by no other scenario) submits certificate requests and cancels each one (a distinct pending
# request per cancel), 16 connections, against `bench_sql --what submit-cancel` on the same
# database: the service's own submit and cancel functions with a Context built as `serve` builds
# it, on as many threads as the pool. Each CSR has a fresh key (the CA refuses a second pending
# request for one key); wrk cycles over a file of them, the loop over its own. Every response's
# status is checked; the service's log is searched for "database is locked" and "database is
# busy" (answered 503). Figure: submit+cancel pairs per second (two write transactions each).
s5_user=$(printf 'user%07d' $((users - 1)))
s5_keys=4096
[ "$mode" = smoke ] && s5_keys=512
if ! "$bin/bench_sql" --what csrs --count "$s5_keys" >"$work/s5-csrs.jsonl" \
    || [ "$(wc -l <"$work/s5-csrs.jsonl")" -ne "$s5_keys" ]; then
  fail "S5: bench_sql --what csrs failed"
fi

# s5_locked: how many times the service has logged a locked or busy database so far.
s5_locked() {
  grep -c -e 'database is locked' -e 'database is busy' "$db_log" || true
}

# s5_cancel_leftovers: cancels the user's requests still pending (those submitted when wrk
# stopped), so the next run's keys are free and runs start alike. A cancel wrk sent just before
# it stopped may still be committing when the list is read: its 409 (no longer pending) is the
# outcome wanted, so only other statuses fail.
s5_cancel_leftovers() {
  local id ids status
  for _ in 1 2 3; do
    ids=$(curl -sf -H "Authorization: Bearer $s5_token" \
      "$db_base/api/v3/myrequests?status=pending&per_page=100" | jq -r '.requests.items[].id') \
      || { fail "S5$db_tag: listing pending requests failed"; return; }
    [ -n "$ids" ] || return 0
    for id in $ids; do
      status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $s5_token" \
        "$db_base/api/v3/myrequests/$id/cancel")
      case $status in
        200 | 409) ;;
        *) fail "S5$db_tag: cancelling leftover request $id answered $status" ;;
      esac
    done
  done
}

# s5_http ROUND: one wrk run of submits and cancels, recorded and checked.
s5_http() {
  local before out locked
  before=$(s5_locked)
  if ! out=$(BENCH_TOKEN=$s5_token BENCH_CSRS=$work/s5-csrs.jsonl wrk -t1 -c"$connections" \
      -d"${seconds}s" --timeout 10s -s bench/wrk/submit-cancel.lua "$db_base" 2>&1 | tail -n 1) \
      || ! jq -e . >/dev/null 2>&1 <<<"$out"; then
    fail "S5$db_tag http: wrk failed: $out"
    return
  fi
  locked=$(($(s5_locked) - before))
  record "S5$db_tag" http "$1" "$(jq -c --argjson c "$connections" --argjson l "$locked" \
    '{connections: $c, locked: $l} + .' <<<"$out")"
  jq -e '.errors == 0 and .server_errors == 0 and .other == 0 and .no_id == 0
    and .cancelled > 0' >/dev/null <<<"$out" || fail "S5$db_tag http: broken answers: $out"
  [ "$locked" -eq 0 ] || fail "S5$db_tag http: $locked 'database is locked' or busy in the log"
}

for database in $(databases); do
  use_database "$database" || continue
  s5_token=$(token_of "$db_base" "$s5_user")
  for round in $(seq "$db_rounds"); do
    s5_http "$round"
    s5_cancel_leftovers
    bench_sql_run "S5$db_tag" ceiling "$round" --database-url "$db_url" --data-dir "$db_dir" \
      --what submit-cancel --user "$s5_user" --count "$s5_keys"
  done
  summarize '{s5@pg_pairs: med("S5@pg"; "http"; "pairs_per_second"),
    s5@pg_p99_ms: med("S5@pg"; "http"; "p99_ms"),
    s5@pg_ceiling_pairs: med("S5@pg"; "ceiling"; "ops_per_second"),
    s5@pg_locked: ([.[] | select(.scenario == "S5@pg" and .name == "http") | .locked] | add)}
    | . + {s5@pg_ratio: ratio(.s5@pg_pairs; .s5@pg_ceiling_pairs)}'
  table_row '["S5@pg", "submit + cancel, @db (16)", "\(.s5@pg_pairs) pairs/s, p99 \(.s5@pg_p99_ms) ms, locked \(.s5@pg_locked)", "loop \(.s5@pg_ceiling_pairs) pairs/s", "\(.s5@pg_ratio)", ">= 0.4, 0 locked"]'
done
