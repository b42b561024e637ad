#!/usr/bin/env bash
# bench/start-until-ready.sh BIN PORT [ENV=VALUE...]: starts `BIN serve` on 127.0.0.1:PORT with
# the given environment (the data directory, the database), polls GET /readyz every 2 ms until it
# answers 200, then kills the service (SIGKILL: its shutdown is not part of start-up). S10 times
# this with hyperfine. Exits non-zero if the service dies or is not ready within 10 s.
set -euo pipefail
bin=$1 port=$2
shift 2
env REQUESTDESK_BIND="127.0.0.1:$port" REQUESTDESK_LOG_LEVEL=warn "$@" "$bin" serve \
  >/dev/null 2>&1 &
pid=$!
# One HTTP/1.0 GET over bash's /dev/tcp: no process per poll.
ready() {
  local line=
  { printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3 && IFS= read -r -t 2 line <&3; } \
    3<>"/dev/tcp/127.0.0.1/$port" || return 1
  [[ $line == "HTTP/1."?" 200"* ]]
}
# Sleeping without a process per poll: a read with a timeout on a pipe nobody writes to.
exec {pause}<> <(:)
deadline=$((SECONDS + 10))
until ready 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { echo "requestdesk died" >&2; exit 1; }
  [ "$SECONDS" -lt "$deadline" ] || { kill -KILL "$pid"; echo "not ready in 10 s" >&2; exit 1; }
  read -r -t 0.002 -u "$pause" || true
done
disown "$pid" # no "Killed" notice
kill -KILL "$pid"
# Gone before returning, so the port is free for the next run.
while kill -0 "$pid" 2>/dev/null; do read -r -t 0.001 -u "$pause" || true; done
