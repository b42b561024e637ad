#!/usr/bin/env bash
# Proves the served OpenAPI document is usable as a contract: Spectral lints it with no error and
# no warning (.ci/contract/spectral.yaml says which rules and why), openapi-python-client
# generates a Python client from it with no warning, and a flow written against that client
# alone (.ci/contract/flow.py) runs from sign-up to the CRL. Any failure fails the script.
# The tools are installed once into ~/.cache/requestdesk. Usage: .ci/contract.sh PATH_TO_BINARY
set -euo pipefail
binary=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
cache=${REQUESTDESK_CACHE:-$HOME/.cache/requestdesk}
spectral_version=6.16.3
generator_version=0.29.1
spectral=$cache/spectral-$spectral_version/node_modules/.bin/spectral
venv=$cache/contract-venv-$generator_version
admin_password=contract-admin-password

if [ ! -x "$spectral" ]; then
  npm install --prefix "$cache/spectral-$spectral_version" --no-audit --no-fund --loglevel=error \
    "@stoplight/spectral-cli@$spectral_version"
fi
if [ ! -x "$venv/bin/openapi-python-client" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "openapi-python-client==$generator_version" 'python-dateutil>=2.8,<3'
fi

workdir=$(mktemp -d)
# shellcheck source=.ci/service.sh
source "$here/service.sh"
server=
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$workdir"' EXIT
start_service "$binary" "$workdir" "$admin_password"
curl -fsS "$base/api/v3/openapi.json" -o "$workdir/openapi.json"

echo "--- Spectral ($spectral_version): no error, no warning"
"$spectral" lint --ruleset "$here/contract/spectral.yaml" --fail-severity warn \
  --format text "$workdir/openapi.json"

echo "--- openapi-python-client ($generator_version): no warning"
if ! (cd "$workdir" && "$venv/bin/openapi-python-client" generate --path openapi.json \
  --config "$here/contract/openapi-python-client.yaml" --meta none --output-path requestdesk_client) \
  >"$workdir/generate.log" 2>&1 || grep -qi 'warning' "$workdir/generate.log"; then
  cat "$workdir/generate.log"
  echo "openapi-python-client failed or warned" >&2
  exit 1
fi

echo "--- the flow, through the generated client alone"
PYTHONPATH="$workdir" "$venv/bin/python" "$here/contract/flow.py" \
  --base-url "$base" --admin-password "$admin_password" --workdir "$workdir"
