#!/usr/bin/env bash
# bench/pgbench/capture.sh [BIN_DIR]: re-captures bench/pgbench/dashboard.sql, the statements
# `GET /api/v3/myrequests?per_page=20` sends to PostgreSQL, from the service itself.
#
# How: seeds a small throw-away database (requestdesk_capture), starts `requestdesk serve` on it
# with PGOPTIONS='-c log_statement=all' (so only its own connections are logged, nothing is
# changed on the server), logs in `light`, GETs the dashboard twice (the second is captured), and
# turns the `execute <name>: SQL` / `DETAIL: parameters:` lines of the server log into a pgbench
# script: the session id, the clock, the username and the user id become the variables
# :session :now :username :user_id (bench/scenarios/s3 passes them with -D), other numbers
# become `\set` variables (still sent as parameters under -M prepared, as diesel sends them),
# other strings are inlined as literals.
#
# Needs: PostgreSQL at BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432) as a
# superuser (log_statement is a superuser setting), its server log readable (pg_lsclusters' log
# file, or BENCH_POSTGRES_LOG), built binaries in BIN_DIR (default target/release).
# Run it again whenever the dashboard's queries change, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-${CARGO_TARGET_DIR:-target}/release}
server=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
db=requestdesk_capture
pglog=${BENCH_POSTGRES_LOG:-$(pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $7; exit}')}
[ -r "$pglog" ] || { echo "capture: cannot read the server log '$pglog' (set BENCH_POSTGRES_LOG)" >&2; exit 1; }
work=$(mktemp -d /tmp/requestdesk-capture.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $db" 2>/dev/null' EXIT

psql -q "$server/postgres" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
"$bin/seed" --database-url "$server/$db" --data-dir "$work/data" --users 1000 --requests 2000 \
  --heavy 500 --bcrypt-cost 4 --password capture-password >/dev/null
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PGOPTIONS='-c log_statement=all' REQUESTDESK_BIND=127.0.0.1:$port REQUESTDESK_DATA_DIR="$work/data" \
  DATABASE_URL="$server/$db" REQUESTDESK_LOG_LEVEL=warn REQUESTDESK_POOL_SIZE=1 \
  REQUESTDESK_ADMIN_PASSWORD=capture-admin-password REQUESTDESK_SECRETS_KEY="$(openssl rand -hex 32)" \
  "$bin/requestdesk" serve >"$work/service.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
token=$(curl -sf -X POST -H 'content-type: application/json' \
  -d '{"username":"light","password":"capture-password"}' \
  "http://127.0.0.1:$port/api/v3/users/sessions" | jq -er .token)
get() { curl -sf -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v3/myrequests?per_page=20"; }
get
sleep 0.5
offset=$(stat -c %s "$pglog")
get
sleep 0.5
user_id=$(psql -At "$server/$db" -c "SELECT id FROM users WHERE username = 'light'")
tail -c +"$((offset + 1))" "$pglog" | grep -F "@$db " >"$work/statements.log"
python3 - "$work/statements.log" "$user_id" "$bin/requestdesk" \
  >bench/pgbench/dashboard.sql <<'EOF'
import re, sys
log, user_id, binary = sys.argv[1], sys.argv[2], sys.argv[3]
statements = []
for line in open(log):
    m = re.search(r"LOG:  execute [^:]+: (.*)$", line)
    if m:
        statements.append([m.group(1), {}])
        continue
    m = re.search(r"DETAIL:  parameters: (.*)$", line)
    if m and statements:
        statements[-1][1] = dict(re.findall(r"\$(\d+) = '((?:[^']|'')*)'", m.group(1)))
if not statements:
    sys.exit("capture: no statement was logged")
uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$")
sets = {}
now = None
def variable(value):
    global now
    if uuid.match(value):
        return ":session"
    if stamp.match(value):
        if now not in (None, value):
            sys.exit("capture: two different timestamps: teach capture.sh their names")
        now = value
        return ":now"
    if value == "light":
        return ":username"
    if value == user_id:
        return ":user_id"
    if re.match(r"^-?\d+$", value):
        sets["k" + value.replace("-", "m")] = value
        return ":k" + value.replace("-", "m")
    return "'" + value + "'"
body = []
for sql, params in statements:
    body.append(re.sub(r"\$(\d+)", lambda m: variable(params[m.group(1)]), sql) + ";")
print("-- GET /api/v3/myrequests?per_page=20 as one pgbench transaction: the statements the service")
print(f"-- sends, in order (captured by bench/pgbench/capture.sh from {binary}; re-run it when")
print("-- the dashboard's queries change). Needs -D session=<live session id> -D now=<UTC time>")
print("-- -D username=<its user> -D user_id=<their id>; run with -M prepared, as the service does.")
for name, value in sets.items():
    print(f"\\set {name} {value}")
print("\n".join(body))
EOF
echo "captured $(grep -c ';$' bench/pgbench/dashboard.sql) statements into bench/pgbench/dashboard.sql:" >&2
cat bench/pgbench/dashboard.sql >&2
