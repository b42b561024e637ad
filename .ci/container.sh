#!/usr/bin/env bash
# Proves the container deployment with podman, as a Docker user would meet it: builds the
# Dockerfile as committed; runs the image on SQLite with a named volume (log-in, sign-up, a
# certificate issued for an openssl CSR, a restart keeping data, JWT secret and CA, a non-root
# process owning what it wrote); runs it under Docker's rules for a new volume; runs
# docker-compose.yml with two replicas on one PostgreSQL (one's token works on the other, a
# log-out on one is refused on the other); checks the HEALTHCHECK and that SIGTERM stops it fast.
# Any failure fails the script; everything it starts is removed however it ends.
# Run from anywhere, as root: `bash .ci/container.sh` (.ci/run calls it).
set -euo pipefail
cd "$(dirname "$0")/.."

project=rdci # prefix of every container, volume and network made here
label=requestdesk.ci=1
image=localhost/requestdesk:ci
cache=${REQUESTDESK_CI_CACHE:-/var/cache/requestdesk-ci}
admin_password=container-check-admin
password='container check password'
jwt_secret=$(openssl rand -hex 32)
secrets_key=$(openssl rand -hex 32)
work=$(mktemp -d)
started=$(date +%s)
phase_started=$started
phase_name=
report=()

phase() {
  local now
  now=$(date +%s)
  [ -z "$phase_name" ] || report+=("$(printf '%-58s %4ss' "$phase_name" $((now - phase_started)))")
  phase_name=$1
  phase_started=$now
  [ -z "$phase_name" ] || printf -- '--> %s\n' "$phase_name"
}
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}
note() { printf '    %s\n' "$*"; }

compose() {
  REQUESTDESK_JWT_SECRET=$jwt_secret REQUESTDESK_SECRETS_KEY=$secrets_key \
    REQUESTDESK_ADMIN_PASSWORD=$admin_password \
    REQUESTDESK_CA_DIR=$work/ca BUILDAH_FORMAT=docker \
    "$cache/venv/bin/podman-compose" -p "$project" -f docker-compose.yml "$@"
}

cleanup() {
  local status=$?
  trap - EXIT
  if [ $status -ne 0 ]; then
    for container in $(podman ps -aq --filter "label=$label"; podman ps -aq --filter "label=io.podman.compose.project=$project"); do
      printf '\n--- last log lines of %s\n' "$(podman inspect --format '{{.Name}}' "$container")" >&2
      podman logs --tail 20 "$container" >&2 2>&1 || true
    done
  fi
  remove_everything_started
  rm -rf "$work"
  exit $status
}
remove_everything_started() {
  remove_compose_project
  podman ps -aq --filter "label=$label" | xargs -r podman rm -f -v -t 0 >/dev/null 2>&1 || true
  podman volume ls -q --filter "label=$label" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
}
# `podman-compose down` forgets replicas beyond the first, so the project is removed by its labels.
remove_compose_project() {
  local filter=label=io.podman.compose.project=$project
  podman pod rm -f "pod_$project" >/dev/null 2>&1 || true
  podman ps -aq --filter "$filter" | xargs -r podman rm -f -v -t 0 >/dev/null 2>&1 || true
  podman volume ls -q --filter "$filter" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# --- HTTP, with the status and body of the last answer in $status and $body -------------------
call() { # METHOD URL [TOKEN] [JSON]
  local args=(-sS -o "$work/body" -w '%{http_code}' -X "$1" "$2")
  [ -z "${3:-}" ] || args+=(-H "Authorization: Bearer $3")
  [ -z "${4:-}" ] || args+=(-H 'Content-Type: application/json' --data "$4")
  status=$(curl "${args[@]}" 2>/dev/null) || status=000
  body=$(cat "$work/body" 2>/dev/null || true)
}
expect() { # STATUS WHAT
  [ "$status" = "$1" ] || fail "$2: expected HTTP $1, got $status: $body"
}
field() { # a Python expression on the JSON body, e.g. ['token']
  python3 -c "import json, sys; print(json.load(sys.stdin)$1)" <<<"$body"
}
json_string() { python3 -c 'import json, sys; print(json.dumps(sys.stdin.read()))' <"$1"; }

host_port() { # CONTAINER: the host address of its port 8080
  podman port "$1" 8080/tcp | head -n 1 | sed 's/^0\.0\.0\.0:/127.0.0.1:/'
}
wait_ready() { # CONTAINER BASE_URL
  for _ in $(seq 120); do
    call GET "$2/readyz"
    [ "$status" = 200 ] && return 0
    [ "$(podman inspect --format '{{.State.Running}}' "$1")" = true ] ||
      fail "$1 exited ($(podman inspect --format '{{.State.ExitCode}}' "$1")) before it was ready"
    sleep 0.5
  done
  fail "$1: /readyz never answered 200 (last: $status $body)"
}
log_in() { # BASE_URL USERNAME PASSWORD -> token
  call POST "$1/api/v3/users/sessions" "" "{\"username\":\"$2\",\"password\":\"$3\"}"
  expect 201 "log-in of $2 at $1"
  field "['token']"
}
sign_up() { # BASE_URL USERNAME
  call POST "$1/api/v3/users" "" "{\"username\":\"$2\",\"name\":\"$2\",\"email\":\"$2@example.com\",\"password\":\"$password\"}"
  expect 201 "sign-up of $2"
  [ "$(field "['username']")" = "$2" ] || fail "sign-up answered another user: $body"
}

assert_runs_as_service_user() { # CONTAINER DATA_DIR
  local users strangers
  users=$(podman top "$1" huser | tail -n +2 | sort -u | tr -d ' ')
  [ "$users" = 10001 ] || fail "$1 runs as '$users', not uid 10001"
  strangers=$(podman exec "$1" find "$2" ! -user 10001)
  [ -z "$strangers" ] || fail "not owned by the service user in $1: $strangers"
  note "runs as uid 10001 and owns $(podman exec "$1" find "$2" -mindepth 1 | wc -l) entries in $2"
}

assert_healthcheck_passes() { # CONTAINER
  podman healthcheck run "$1" >/dev/null || fail "the HEALTHCHECK of $1 fails"
  note "HEALTHCHECK passes in $1"
}

# SIGTERM, as `docker stop` sends it: the process must exit by itself (status 0) within 5 s.
assert_stops_on_sigterm() { # CONTAINER
  local before after code
  before=$(date +%s%N)
  podman kill --signal TERM "$1" >/dev/null
  timeout 10 podman wait "$1" >/dev/null || fail "$1 still runs 10 s after SIGTERM"
  after=$(date +%s%N)
  code=$(podman inspect --format '{{.State.ExitCode}}' "$1")
  [ "$code" = 0 ] || fail "$1 exited $code on SIGTERM"
  (((after - before) / 1000000 < 5000)) || fail "$1 took $(((after - before) / 1000000)) ms to stop"
  note "SIGTERM stopped $1 in $(((after - before) / 1000000)) ms, exit status 0"
}

# --- 1. podman and the base images ------------------------------------------------------------
phase "podman and base images (made once per machine)"
bash .ci/container-images.sh
[ -x "$cache/venv/bin/podman-compose" ] || {
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install -q podman-compose==1.6.0
}
# A run that was killed may have left what would collide with this one's names.
remove_everything_started

# --- 2. the Dockerfile as committed -----------------------------------------------------------
phase "build the Dockerfile"
build_started=$(date +%s)
podman build --pull=never --format docker -t "$image" . >"$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log" >&2; fail "podman build failed"; }
note "built in $(($(date +%s) - build_started)) s, $(grep -c -- '--> Using cache' "$work/build.log" || true) steps from cache"
# A build of a changed src/ leaves its build stage (2.6 GB) as an unnamed image: keep this
# build's (its dependency layer is the next build's cache), drop older ones, so the disk of a
# machine that runs CI again and again does not fill.
this_build=$(grep -oE -- '--> (Using cache )?[0-9a-f]{11,}' "$work/build.log" | grep -oE '[0-9a-f]{11,}' | cut -c1-11)
for unnamed in $(podman images -q --filter dangling=true); do
  grep -q "^${unnamed:0:11}" <<<"$this_build" || podman rmi "$unnamed" >/dev/null 2>&1 || true
done
size=$(podman image inspect --format '{{.Size}}' "$image")
base_size=$(podman image inspect --format '{{.Size}}' docker.io/library/debian:bookworm-slim)
note "image $((size / 1000000)) MB: base debian:bookworm-slim $((base_size / 1000000)) MB + $(((size - base_size) / 1000000)) MB of its own"
[ "$(podman image inspect --format '{{.Config.User}}' "$image")" = 10001:10001 ] || fail "the image's USER is not 10001:10001"
podman image inspect --format '{{json .Config.Healthcheck}}' "$image" | grep -q '"requestdesk","healthcheck"' ||
  fail "the image has no HEALTHCHECK running 'requestdesk healthcheck'"
shipped=$(podman run --rm --label "$label" --entrypoint ls "$image" /usr/local/bin)
[ "$shipped" = requestdesk ] || fail "the image ships more than the requestdesk binary: $shipped"
missing=$(podman run --rm --label "$label" --entrypoint ldd "$image" /usr/local/bin/requestdesk | grep 'not found' || true)
[ -z "$missing" ] || fail "libraries missing from the runtime image: $missing"

# --- 3. SQLite on a named volume, stopped and started -----------------------------------------
phase "SQLite on a named volume: serve, restart, keep"
podman volume create --label "$label" "$project-data" >/dev/null
sqlite=$project-sqlite
podman run -d --name "$sqlite" --label "$label" -p 127.0.0.1::8080 \
  -v "$project-data:/var/lib/requestdesk/data" \
  -e REQUESTDESK_ADMIN_PASSWORD="$admin_password" "$image" >/dev/null
base="http://$(host_port "$sqlite")"
wait_ready "$sqlite" "$base"
admin=$(log_in "$base" admin "$admin_password")
sign_up "$base" alice
alice=$(log_in "$base" alice "$password")
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=app.example.com \
  -addext subjectAltName=DNS:app.example.com -keyout "$work/app-key.pem" -out "$work/app.csr" 2>/dev/null
call POST "$base/api/v3/myrequests" "$alice" \
  "{\"type\":\"certificate\",\"csr\":$(json_string "$work/app.csr"),\"reason\":\"container check\"}"
expect 201 "certificate request"
request=$(field "['id']")
[ "$(field "['status']")" = pending ] || fail "a new request is not pending: $body"
call POST "$base/api/v3/incoming-requests/$request/confirm" "$admin"
expect 200 "the admin's confirmation"
certificate=$(field "['certificate_id']")
[ "$(field "['status']")" = approved ] || fail "the confirmed request is not approved: $body"
call GET "$base/api/v3/certificates/$certificate/pem" "$alice"
expect 200 "certificate download"
printf '%s\n' "$body" >"$work/app.pem"
call GET "$base/api/v3/ca/certificate"
expect 200 "CA certificate"
printf '%s\n' "$body" >"$work/ca-before.pem"
openssl verify -CAfile "$work/ca-before.pem" "$work/app.pem" >/dev/null ||
  fail "the issued certificate does not verify against the CA"
note "issued certificate $certificate for an openssl CSR; openssl verify: OK"
assert_runs_as_service_user "$sqlite" /var/lib/requestdesk/data
assert_healthcheck_passes "$sqlite"
assert_stops_on_sigterm "$sqlite"
podman start "$sqlite" >/dev/null
base="http://$(host_port "$sqlite")"
wait_ready "$sqlite" "$base"
call GET "$base/api/v3/myrequests/$request" "$alice"
expect 200 "alice's token from before the restart"
[ "$(field "['certificate_id']")" = "$certificate" ] || fail "the request changed across the restart: $body"
call GET "$base/api/v3/ca/certificate"
expect 200 "CA certificate after the restart"
[ "$body" = "$(cat "$work/ca-before.pem")" ] || fail "the CA changed across the restart"
assert_runs_as_service_user "$sqlite" /var/lib/requestdesk/data
note "after a restart: the old token works, the request and the CA are the same"
podman rm -f -v -t 5 "$sqlite" >/dev/null

# --- 4. Docker's rules for a new volume -------------------------------------------------------
# Docker makes a new volume an empty directory, then gives it the owner and mode of the image's
# directory it is mounted on (moby's copyOwnership); without that directory in the image it stays
# root's, 0755. Podman chowns a new volume to the container's user instead, which hid the bug.
phase "Docker's rules: a new volume, and a root-owned directory"
owner_mode=$(podman run --rm --label "$label" --entrypoint stat "$image" -c '%u:%g %a' /var/lib/requestdesk/data)
[ "$owner_mode" = "10001:10001 700" ] || fail "the image's data directory is '$owner_mode', not 10001:10001 700"
install -d -o root -g root -m 0755 "$work/root-owned"
podman run -d --name "$project-root-owned" --label "$label" \
  -v "$work/root-owned:/var/lib/requestdesk/data" "$image" >/dev/null
timeout 30 podman wait "$project-root-owned" >/dev/null || fail "the service ran on a directory it cannot write"
refusal=$(podman logs "$project-root-owned" 2>&1 | grep '^requestdesk:' || true)
[[ $refusal == *"/var/lib/requestdesk/data/"*"(from REQUESTDESK_DATA_DIR)"* ]] ||
  fail "the refusal to start on a root-owned directory does not name it: $(podman logs "$project-root-owned" 2>&1 | tail -n 3)"
note "on a root-owned 0755 directory it refuses to start, naming it: ${refusal:0:120}..."
install -d -o root -g root -m 0755 "$work/new-volume"
chown "${owner_mode% *}" "$work/new-volume" && chmod "${owner_mode#* }" "$work/new-volume"
podman run -d --name "$project-new-volume" --label "$label" -p 127.0.0.1::8080 \
  -v "$work/new-volume:/var/lib/requestdesk/data" "$image" >/dev/null
base="http://$(host_port "$project-new-volume")"
wait_ready "$project-new-volume" "$base"
call GET "$base/api/v3/ca/certificate"
expect 200 "CA certificate on a new Docker-style volume"
assert_runs_as_service_user "$project-new-volume" /var/lib/requestdesk/data
podman rm -f -v -t 5 "$project-root-owned" "$project-new-volume" >/dev/null

# --- 5. docker-compose.yml: PostgreSQL and two replicas ---------------------------------------
phase "docker-compose.yml: two replicas on PostgreSQL"
# The CA every replica shares, made as README says.
mkdir -p "$work/ca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj "/CN=requestdesk CA" -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign,cRLSign \
  -keyout "$work/ca/ca-key.pem" -out "$work/ca/ca.pem" 2>/dev/null
chown 10001:10001 "$work/ca/ca-key.pem" && chmod 0600 "$work/ca/ca-key.pem"
podman tag "$image" "localhost/${project}_requestdesk:latest"
compose up -d --scale requestdesk=2 >"$work/compose.log" 2>&1 ||
  { tail -n 30 "$work/compose.log" >&2; fail "podman-compose up failed"; }
mapfile -t replicas < <(podman ps --filter "label=io.podman.compose.project=$project" \
  --filter label=com.docker.compose.service=requestdesk --format '{{.Names}}' | sort)
[ ${#replicas[@]} = 2 ] || fail "expected 2 replicas, found: ${replicas[*]}"
for replica in "${replicas[@]}"; do
  [ "$(podman inspect --format '{{.Image}}' "$replica")" = "$(podman image inspect --format '{{.Id}}' "$image")" ] ||
    fail "$replica does not run the image built above"
done
first="http://$(host_port "${replicas[0]}")"
second="http://$(host_port "${replicas[1]}")"
wait_ready "${replicas[0]}" "$first"
wait_ready "${replicas[1]}" "$second"
for replica in "${replicas[@]}"; do assert_healthcheck_passes "$replica"; done
note "replicas ${replicas[*]} ready at $first and $second"
call GET "$first/api/v3/ca/certificate"
first_ca=$body
call GET "$second/api/v3/ca/certificate"
[ "$body" = "$first_ca" ] && [ "$body" = "$(cat "$work/ca/ca.pem")" ] || fail "the replicas do not serve the configured CA"
sign_up "$first" bob
bob=$(log_in "$first" bob "$password")
call GET "$second/api/v3/users/bob" "$bob"
expect 200 "a token from replica 1 on replica 2"
call DELETE "$second/api/v3/users/sessions" "$bob"
expect 204 "log-out on replica 2"
call GET "$first/api/v3/users/bob" "$bob"
expect 401 "the logged-out token on replica 1"
note "a token from replica 1 works on replica 2; logged out on 2, it is refused on 1"
for replica in "${replicas[@]}"; do
  restarts=$(podman inspect --format '{{.RestartCount}}' "$replica")
  [ "$restarts" = 0 ] || fail "$replica restarted $restarts time(s) while starting"
  retries=$(podman logs "$replica" 2>&1 | grep -c 'not reachable yet' || true)
  note "$replica started without a restart, retrying the database $retries time(s) while PostgreSQL started"
done
remove_compose_project

phase ""
printf '\nContainer checks passed in %ss (image %s MB):\n' $(($(date +%s) - started)) $((size / 1000000))
printf '    %s\n' "${report[@]}"
