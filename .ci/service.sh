# Sourced by the CI scripts that drive a running service: `start_service BINARY DIR PASSWORD`
# starts it on a free loopback port (SQLite in DIR, bcrypt cost 4, PASSWORD for `admin`), sets
# `base` to its URL and `server` to its pid, and returns once /readyz answers. The caller stops it.
start_service() {
  local binary=$1 dir=$2 password=$3 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  REQUESTDESK_BIND="127.0.0.1:$port" REQUESTDESK_DATA_DIR="$dir/data" REQUESTDESK_BCRYPT_COST=4 \
    REQUESTDESK_ADMIN_PASSWORD="$password" REQUESTDESK_LOG_LEVEL=warn \
    "$binary" serve >"$dir/server.log" 2>&1 &
  server=$!
  for _ in $(seq 50); do curl -fsS "$base/readyz" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "the service did not become ready:" >&2
  cat "$dir/server.log" >&2
  return 1
}
