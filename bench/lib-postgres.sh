# Sourced by bench/run: the data set on PostgreSQL and a second service on it, set up once per
# bench/run by the first fragment that needs it (whichever of them BENCH_ONLY selects).
#
#   BENCH_POSTGRES_URL  the server, as a superuser (default postgres://postgres@127.0.0.1:5432)
#   BENCH_POSTGRES_DB   the database dedicated to the bench, dropped and re-seeded (default
#                       requestdesk_bench); kept and reused, like the SQLite file, when
#                       BENCH_DATA_DIR is set and its marker says it holds a data set of the same size
#
# postgres_service: returns 0 with $pg_url (the database), $pg_base (the service's URL),
# $pg_light_token and $pg_heavy_token set; or calls `fail` and returns 1 when PostgreSQL is
# unreachable or cannot be seeded (the PostgreSQL scenarios are then skipped, the run fails).
pg_server=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
pg_db=${BENCH_POSTGRES_DB:-requestdesk_bench}
pg_url=$pg_server/$pg_db
# PostgreSQL needs a master key for account secrets; the bench's data holds none worth keeping.
# Exported, so the service, bench_sql and the S10 start-ups on PostgreSQL all see it.
export REQUESTDESK_SECRETS_KEY=${REQUESTDESK_SECRETS_KEY:-be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c4be9c}

postgres_service() {
  [ -n "${pg_base:-}" ] && return 0
  [ -z "${pg_broken:-}" ] || return 1
  pg_broken=1
  if ! psql -qAtX "$pg_server/postgres" -c 'SELECT 1' >/dev/null 2>&1; then
    fail "PostgreSQL is unreachable at $pg_server (start it, or set BENCH_POSTGRES_URL)"
    return 1
  fi
  # Its own data directory: the CA that issues the seeded certificates, which the service on this
  # database must be started on.
  local dir=$data/postgres
  local marker="$dir/.seeded-$pg_db-$users-$requests-$heavy" out
  mkdir -p "$dir"
  # The marker, and the database still holding the seeded users (the service adds its admin).
  if [ -f "$marker" ] && [ "$(psql -qAtX "$pg_url" \
      -c "SELECT count(*) + 2 FROM users WHERE username LIKE 'user%'" 2>/dev/null)" = "$users" ]; then
    log "reusing the data set in PostgreSQL database $pg_db"
  else
    log "seeding $users users, $requests requests (heavy: $heavy) on PostgreSQL ($pg_db)"
    rm -f "$dir"/.seeded-*
    if ! psql -qAtX "$pg_server/postgres" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" \
        -c "CREATE DATABASE $pg_db" >&2; then
      fail "cannot create the PostgreSQL database $pg_db"
      return 1
    fi
    if ! "$bin/seed" --data-dir "$dir" --database-url "$pg_url" --users "$users" \
        --requests "$requests" --heavy "$heavy" --password "$password" | tee "$work/seed-postgres.log" >&2; then
      fail "seeding PostgreSQL failed"
      return 1
    fi
    out=$(tail -n 1 "$work/seed-postgres.log")
    jq -e . >/dev/null 2>&1 <<<"$out" && record seed postgres 0 "$out"
    touch "$marker"
  fi
  start_service pg "$dir" DATABASE_URL="$pg_url"
  log "requestdesk on PostgreSQL at $pg_base"
  pg_light_token=$(token_of "$pg_base" light)
  pg_heavy_token=$(token_of "$pg_base" heavy)
  pg_broken=
  pg_check_totals heavy "$pg_heavy_token"
  pg_check_totals light "$pg_light_token"
}

# pg_check_totals USER TOKEN: the dashboard's totals must be the rows the database holds (a fast
# dashboard with wrong totals is broken, not fast).
pg_check_totals() {
  local got want
  got=$(curl -sf -H "Authorization: Bearer $2" "$pg_base/api/v3/myrequests?per_page=1" \
    | jq -r '"\(.requests.total) \(.certificates.total)"')
  want=$(psql -qAtX "$pg_url" -c "SELECT (SELECT count(*) FROM requests r WHERE r.requester_id = u.id)
    || ' ' || (SELECT count(*) FROM certificates c WHERE c.owner_id = u.id) FROM users u WHERE username = '$1'")
  [ "$got" = "$want" ] || fail "PostgreSQL: $1's dashboard totals (requests, certificates) are $got, the database holds $want"
}

# session_of TOKEN: the session id (`sid` claim) of an access token.
session_of() {
  python3 -c 'import base64, json, sys
p = sys.argv[1].split(".")[1]
print(json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))["sid"])' "$1"
}

# pgbench_run SCENARIO NAME ROUND SCRIPT [PGBENCH ARGS...]: one pgbench run of SCRIPT on the bench
# database, prepared statements, as many clients as the service's pool, for $seconds; one
# transaction is one pass over SCRIPT. `now` is defined as the current UTC time.
pgbench_run() {
  local scenario=$1 name=$2 round=$3 script=$4 out tps latency failed done
  shift 4
  if ! out=$(pgbench -n -M prepared -c "$pool_size" -j 2 -T "$(printf '%.0f' "$seconds")" \
      -D now="$(date -u +%Y-%m-%dT%H:%M:%S.%6N)" "$@" -f "$script" "$pg_url" 2>&1); then
    fail "$scenario $name: pgbench failed (if the service's queries changed: bench/pgbench/capture.sh): $(tail -n 5 <<<"$out")"
    return
  fi
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
  latency=$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' <<<"$out")
  done=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
  if [ -z "$tps" ] || [ -z "$done" ] || [ "$done" -eq 0 ] || [ "${failed:-0}" != 0 ]; then
    fail "$scenario $name: pgbench: $(tail -n 5 <<<"$out")"
    return
  fi
  record "$scenario" "$name" "$round" "$(jq -nc --argjson tps "$tps" --argjson c "$pool_size" \
    --argjson l "${latency:-null}" --argjson n "$done" \
    '{ops_per_second: $tps, clients: $c, latency_avg_ms: $l, transactions: $n}')"
}
