# S9, on each database (S9pg on PostgreSQL): confirm-and-issue throughput. A requester submits
# fresh certificate requests (a new P-256 key each); an approver confirms them all, closed loop
# with $connections connections: the confirmation issues the certificate in its transaction, so
# confirmations/s = issued/s.
#
# The fair reference stores what it signs: `cfssl serve` (Debian's golang-cfssl) with the
# service's own CA (ECDSA P-256), the same validity and key usages, signing the same CSRs over
# HTTP at the same concurrency (alternated A B A B), and storing each certificate in its
# certificate database (`-db-config`) on the same engine as ours:
# - SQLite: a file made with cfssl's schema (bench/cfssl/certdb-sqlite.sql) in WAL mode, opened by
#   cfssl's go-sqlite3 with synchronous NORMAL, busy_timeout 5 s and foreign keys on, as ours.
# - PostgreSQL: cfssl's schema (bench/cfssl/certdb-postgres.sql) in a database of its own on the
#   same server (<BENCH_POSTGRES_DB>_cfssl, requestdesk_bench_cfssl by default), created and
#   dropped here, reached over TCP with TLS like ours (lib/pq's default sslmode is require).
# After each of its runs the certificates table is counted: every certificate cfssl signed must
# be in it. cfssl with no database, which stores nothing, is measured beside SQLite and reported.
#
# Knobs: BENCH_S9_COUNT (requests per round; default 2000, smoke 100).
s9_count=${BENCH_S9_COUNT:-$([ "$mode" = smoke ] && echo 100 || echo 2000)}
s9_requester=user0000007 s9_approver=user0000100
s9_cfssl_pg_url=$pg_server/${pg_db}_cfssl

s9_loadgen() { # NAME ROUND ARGS...: one loadgen run, recorded (its JSON line in $s9_out); errors fail.
  local name=$1 round=$2
  shift 2
  if ! s9_out=$("$loadgen" "$@" 2>&1 | tail -n 1) || ! jq -e .issued >/dev/null 2>&1 <<<"$s9_out"; then
    fail "S9$db_tag $name: loadgen failed: $s9_out"
    s9_out=
    return
  fi
  record "S9$db_tag" "$name" "$round" "$s9_out"
  [ "$(jq .errors <<<"$s9_out")" = 0 ] \
    || fail "S9$db_tag $name: $(jq -r '"\(.errors) errors, first: \(.first_error)"' <<<"$s9_out")"
}

# s9_start_cfssl NAME [DB_CONFIG]: starts `cfssl serve` with the current database's CA (storing
# into DB_CONFIG's database when given); sets $s9_cfssl_base and $s9_cfssl_pid.
s9_start_cfssl() {
  local name=$1 db_config=${2:-} dir=$work/cfssl port
  mkdir -p "$dir"
  # The same validity and key usages as ours (90 days, server and client auth).
  cat >"$dir/config.json" <<'EOF'
{"signing": {"default": {"expiry": "2160h",
  "usages": ["digital signature", "key encipherment", "server auth", "client auth"]}}}
EOF
  port=$(free_port)
  cfssl serve -address 127.0.0.1 -port "$port" -ca "$db_dir/ca.pem" -ca-key "$db_dir/ca-key.pem" \
    -config "$dir/config.json" ${db_config:+-db-config "$db_config"} -loglevel 2 \
    >"$work/cfssl-$name.log" 2>&1 &
  s9_cfssl_pid=$!
  services+=("$s9_cfssl_pid")
  s9_cfssl_base=http://127.0.0.1:$port
  for _ in $(seq 100); do
    curl -sf -X POST -d '{}' "$s9_cfssl_base/api/v1/cfssl/info" >/dev/null 2>&1 && return 0
    kill -0 "$s9_cfssl_pid" 2>/dev/null || break
    sleep 0.1
  done
  fail "S9$db_tag: cfssl serve ($name) did not start: $(tail -n 5 "$work/cfssl-$name.log")"
  return 1
}

# s9_certdb: creates cfssl's certificate database on the current database (empty) and writes
# its -db-config file, $work/cfssl-db.json.
s9_certdb() {
  local file=$work/cfssl-certdb.sqlite driver source
  case $db in
    sqlite)
      rm -f "$file" "$file-wal" "$file-shm"
      sqlite3 "$file" 'PRAGMA journal_mode = WAL;' >/dev/null \
        && sqlite3 -bail "$file" <bench/cfssl/certdb-sqlite.sql || return 1
      driver=sqlite3
      source="file:$file?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_foreign_keys=1"
      ;;
    postgres)
      s9_drop_pg_certdb
      psql -qAtX "$pg_server/postgres" -c "CREATE DATABASE ${pg_db}_cfssl" >&2 \
        && psql -qAtX -v ON_ERROR_STOP=1 "$s9_cfssl_pg_url" -f bench/cfssl/certdb-postgres.sql >&2 \
        || return 1
      driver=postgres source=$s9_cfssl_pg_url
      ;;
  esac
  jq -n --arg driver "$driver" --arg source "$source" '{driver: $driver, data_source: $source}' \
    >"$work/cfssl-db.json"
}

s9_drop_pg_certdb() {
  PGOPTIONS='-c client_min_messages=warning' psql -qAtX "$pg_server/postgres" \
    -c "DROP DATABASE IF EXISTS ${pg_db}_cfssl WITH (FORCE)" >&2
}

# s9_stored: the number of certificates in cfssl's certificate database.
s9_stored() {
  case $db in
    sqlite) sqlite3 "$work/cfssl-certdb.sqlite" 'SELECT count(*) FROM certificates' ;;
    postgres) psql -qAtX "$s9_cfssl_pg_url" -c 'SELECT count(*) FROM certificates' ;;
  esac
}

# s9_cfssl_certdb ROUND FILE: cfssl with its certificate database signs FILE's CSRs; every
# certificate it signed must then be stored (recorded as the run `stored`).
s9_cfssl_certdb() {
  local before after signed
  before=$(s9_stored) || { fail "S9$db_tag: cannot count cfssl's certificates"; return; }
  s9_loadgen cfssl-certdb "$1" cfssl-sign --url "$s9_certdb_base" --in "$2" \
    --concurrency "$connections"
  [ -n "$s9_out" ] || return
  after=$(s9_stored) || { fail "S9$db_tag: cannot count cfssl's certificates"; return; }
  signed=$(jq .issued <<<"$s9_out")
  record "S9$db_tag" stored "$1" "{\"signed\": $signed, \"stored\": $((after - before))}"
  [ $((after - before)) -eq "$signed" ] \
    || fail "S9$db_tag: cfssl signed $signed certificates and stored $((after - before))"
}

# s9_on_database: the rounds on the current database: prepare, ours, cfssl with its certificate
# database, and (beside SQLite) cfssl with none.
s9_on_database() {
  local requester approver round file prepared pid
  s9_certdb || { fail "S9$db_tag: cannot create cfssl's $db_label certificate database"; return; }
  s9_start_cfssl "certdb-$db" "$work/cfssl-db.json" || return
  s9_certdb_base=$s9_cfssl_base s9_certdb_pid=$s9_cfssl_pid s9_nodb_pid=
  if [ "$db" = sqlite ]; then
    s9_start_cfssl nodb || return
    s9_nodb_base=$s9_cfssl_base s9_nodb_pid=$s9_cfssl_pid
  fi
  requester=$(token_of "$db_base" "$s9_requester")
  approver=$(token_of "$db_base" "$s9_approver")
  for round in $(seq "$db_rounds"); do
    file=$work/s9-$db-$round.jsonl
    # Fresh pending requests for this round (each is consumed by its confirmation).
    if ! prepared=$(unprofiled "$loadgen" prepare --base "$db_base" --token "$requester" \
        --count "$s9_count" --concurrency 4 --out "$file" 2>&1 | tail -n 1) \
        || ! jq -e .submitted_per_second >/dev/null 2>&1 <<<"$prepared"; then
      fail "S9$db_tag: preparing $s9_count requests failed: $prepared"
      continue
    fi
    record "S9$db_tag" submit "$round" "$prepared"
    s9_loadgen ours "$round" confirm --base "$db_base" --token "$approver" --in "$file" \
      --concurrency "$connections"
    s9_cfssl_certdb "$round" "$file"
    [ -z "$s9_nodb_pid" ] || s9_loadgen cfssl "$round" cfssl-sign --url "$s9_nodb_base" \
      --in "$file" --concurrency "$connections"
  done
  for pid in $s9_certdb_pid $s9_nodb_pid; do stop_service "$pid"; done
}

if ! [ -x "$loadgen" ]; then
  fail "S9: no load generator at $loadgen"
elif [ "$users" -lt 100 ]; then
  fail "S9: the data set needs at least 100 users (user0000100 is its first approver)"
else
  for database in $(databases); do
    use_database "$database" || continue
    s9_on_database
    [ "$db" = sqlite ] || s9_drop_pg_certdb
    s9_target=$([ "$db" = sqlite ] && echo '>= 1, p99 <= 50 ms' || echo reported)
    summarize '{s9@pg_issued_per_second: med("S9@pg"; "ours"; "issued_per_second"),
      s9@pg_p99_ms: med("S9@pg"; "ours"; "p99_ms"),
      s9@pg_cfssl_certdb_per_second: med("S9@pg"; "cfssl-certdb"; "issued_per_second"),
      s9@pg_cfssl_certdb_p99_ms: med("S9@pg"; "cfssl-certdb"; "p99_ms"),
      s9@pg_cfssl_signed: ([.[] | select(.scenario == "S9@pg" and .name == "stored") | .signed] | add),
      s9@pg_cfssl_stored: ([.[] | select(.scenario == "S9@pg" and .name == "stored") | .stored] | add),
      s9@pg_submitted_per_second: med("S9@pg"; "submit"; "submitted_per_second")}
      | . + {s9@pg_ratio_to_cfssl_certdb: ratio(.s9@pg_issued_per_second; .s9@pg_cfssl_certdb_per_second)}'
    table_row '["S9@pg", "confirm + issue (P-256), @db", "\(.s9@pg_issued_per_second) issued/s, p99 \(.s9@pg_p99_ms) ms", "cfssl + @db certdb \(.s9@pg_cfssl_certdb_per_second)/s, p99 \(.s9@pg_cfssl_certdb_p99_ms) ms (stored \(.s9@pg_cfssl_stored) of \(.s9@pg_cfssl_signed))", "\(.s9@pg_ratio_to_cfssl_certdb)", "'"$s9_target"'"]'
    [ "$db" = sqlite ] || continue
    summarize '{s9_cfssl_per_second: med("S9"; "cfssl"; "issued_per_second"),
      s9_cfssl_p99_ms: med("S9"; "cfssl"; "p99_ms")}
      | . + {s9_ratio_to_cfssl: ratio($s.s9_issued_per_second; .s9_cfssl_per_second)}'
    table_row '["S9", "  same, against cfssl storing nothing", "\(.s9_issued_per_second) issued/s", "cfssl, no database \(.s9_cfssl_per_second)/s, p99 \(.s9_cfssl_p99_ms) ms", "\(.s9_ratio_to_cfssl)", "reported"]'
  done
fi
