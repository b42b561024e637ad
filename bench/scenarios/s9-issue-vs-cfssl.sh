# S9: confirm-and-issue throughput. A requester submits fresh certificate requests (a new P-256
# key each); an approver confirms them all, closed loop with $connections connections: the
# confirmation issues the certificate in its transaction, so confirmations/s = issued/s. The
# reference is `cfssl serve` (Debian's golang-cfssl) with the data directory's own CA (ECDSA
# P-256) signing the same CSRs over HTTP at the same concurrency, alternated A B A B.
#
# Knobs: BENCH_S9_COUNT (requests per round; default 2000, smoke 100).
s9_count=${BENCH_S9_COUNT:-$([ "$mode" = smoke ] && echo 100 || echo 2000)}
s9_requester=user0000007 s9_approver=user0000100

s9_loadgen() { # S9 NAME ROUND ARGS...: one loadgen run, recorded; errors fail.
  local name=$1 round=$2 out
  shift 2
  if ! out=$("$loadgen" "$@" 2>&1 | tail -n 1) || ! jq -e .issued >/dev/null 2>&1 <<<"$out"; then
    fail "S9 $name: loadgen failed: $out"
    return
  fi
  record S9 "$name" "$round" "$out"
  [ "$(jq .errors <<<"$out")" = 0 ] || fail "S9 $name: $(jq -r '"\(.errors) errors, first: \(.first_error)"' <<<"$out")"
}

s9_start_cfssl() {
  local dir=$work/cfssl port pid
  mkdir -p "$dir"
  # The same validity and key usages as ours (90 days, server and client auth).
  cat >"$dir/config.json" <<'EOF'
{"signing": {"default": {"expiry": "2160h",
  "usages": ["digital signature", "key encipherment", "server auth", "client auth"]}}}
EOF
  port=$(free_port)
  cfssl serve -address 127.0.0.1 -port "$port" -ca "$data/ca.pem" -ca-key "$data/ca-key.pem" \
    -config "$dir/config.json" -loglevel 2 >"$work/cfssl.log" 2>&1 &
  pid=$!
  services+=("$pid")
  for _ in $(seq 100); do
    curl -sf -X POST -d '{}' "http://127.0.0.1:$port/api/v1/cfssl/info" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! curl -sf -X POST -d '{}' "http://127.0.0.1:$port/api/v1/cfssl/info" >/dev/null 2>&1; then
    fail "S9: cfssl serve did not start: $(tail -n 5 "$work/cfssl.log")"
    return 1
  fi
  cfssl_base=http://127.0.0.1:$port
}

if ! [ -x "$loadgen" ]; then
  fail "S9: no load generator at $loadgen"
elif [ "$users" -lt 100 ]; then
  fail "S9: the data set needs at least 100 users (user0000100 is its first approver)"
elif s9_start_cfssl; then
  s9_requester_token=$(token_of "$base" "$s9_requester")
  s9_approver_token=$(token_of "$base" "$s9_approver")
  for round in $(seq "$rounds"); do
    s9_file=$work/s9-$round.jsonl
    # Fresh pending requests for this round (each is consumed by its confirmation).
    if ! s9_prepared=$("$loadgen" prepare --base "$base" --token "$s9_requester_token" \
        --count "$s9_count" --concurrency 4 --out "$s9_file" 2>&1 | tail -n 1) \
        || ! jq -e .submitted_per_second >/dev/null 2>&1 <<<"$s9_prepared"; then
      fail "S9: preparing $s9_count requests failed: $s9_prepared"
      continue
    fi
    record S9 submit "$round" "$s9_prepared"
    s9_loadgen ours "$round" confirm --base "$base" --token "$s9_approver_token" \
      --in "$s9_file" --concurrency "$connections"
    s9_loadgen cfssl "$round" cfssl-sign --url "$cfssl_base" --in "$s9_file" \
      --concurrency "$connections"
  done
fi

summarize '{s9_issued_per_second: med("S9"; "ours"; "issued_per_second"),
  s9_p99_ms: med("S9"; "ours"; "p99_ms"),
  s9_cfssl_per_second: med("S9"; "cfssl"; "issued_per_second"),
  s9_submitted_per_second: med("S9"; "submit"; "submitted_per_second")}
  | . + {s9_ratio_to_cfssl: ratio(.s9_issued_per_second; .s9_cfssl_per_second)}'
table_row '["S9", "confirm + issue (P-256)", "\(.s9_issued_per_second) issued/s, p99 \(.s9_p99_ms) ms", "cfssl \(.s9_cfssl_per_second) signed/s", "\(.s9_ratio_to_cfssl)", ">= 1"]'
