#!/usr/bin/env bash
# bench/profile.sh SCENARIO [--smoke]: runs the bench/run fragments whose file name matches
# SCENARIO (BENCH_ONLY's extended regular expression: `s9`, `s2-`, `s1-`) for one round against
# the release build, while `perf record` samples the CPU of each requestdesk service with call
# graphs, then prints each service's top symbols: by their own time, and including their callees.
# Only the service is sampled, not the load generators, the references or the database server.
# The data stays in target/profiles/<UTC time>-<SCENARIO>/<fragment>-<service>.perf.data
# (service `sqlite` or `pg`) for `perf report -i FILE --no-inline` while the binaries are not
# rebuilt (perf keeps no copy of them; and its inline resolution runs addr2line over the whole
# binary, minutes for a debug build, hence --no-inline).
#
# Sampling uses the cpu-clock software event at BENCH_PERF_FREQUENCY Hz (default 499): this VM
# exposes no hardware counters (`perf stat -e instructions true` reads <not supported>). Call
# graphs are unwound from DWARF unwind tables, which the release build keeps with its symbols;
# for inlined frames, build with line tables in a target directory of its own:
#   CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_TARGET_DIR=target/profiling bench/profile.sh s9
# bench/run's knobs apply: BENCH_ROUNDS (here 1 by default), BENCH_DATABASES (e.g. postgres),
# BENCH_DATA_DIR (reuse a seeded full data set), BENCH_PROFILE=debug (the debug binaries),
# BENCH_PERF_TOP (lines of each list, default 25).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
  echo "usage: bench/profile.sh SCENARIO [--smoke]" >&2
  exit 2
fi
scenario=$1
shift
top=${BENCH_PERF_TOP:-25}

command -v perf >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null
}
if ! perf record -q -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
  echo "perf cannot sample on this machine (kernel.perf_event_paranoid is" \
    "$(cat /proc/sys/kernel/perf_event_paranoid)): run as root or lower it" >&2
  exit 1
fi

out=${CARGO_TARGET_DIR:-target}/profiles/$(date -u +%Y%m%dT%H%M%SZ)-${scenario//[^A-Za-z0-9_-]/_}
mkdir -p "$out"
status=0
BENCH_PERF_DIR=$(realpath "$out") BENCH_ONLY=$scenario BENCH_ROUNDS=${BENCH_ROUNDS:-1} \
  bench/run "$@" || status=$?

# report FILE ARGS...: perf's table for FILE, without its comments and blank lines.
report() {
  local file=$1
  shift
  perf report -i "$file" --stdio --no-inline -g none --percent-limit 0.5 "$@" 2>/dev/null \
    | grep -v -e '^#' -e '^$' | head -n "$top" || true # head closes the pipe early
}

found=0
for data in "$out"/*.perf.data; do
  [ -s "$data" ] || continue
  found=1
  echo
  echo "=== $(basename "$data" .perf.data): $(perf report -i "$data" --stdio --no-inline \
    --no-children --sort dso -g none 2>/dev/null | sed -n "s/^# Samples: \([^ ]*\) .*/\1 samples/p")"
  echo "--- own time (symbol)"
  report "$data" --no-children --sort dso,sym
  echo "--- including callees"
  report "$data" --children --sort sym
done
[ "$found" = 1 ] || { echo "no profile was recorded in $out (see bench/run's output)" >&2; exit 1; }
echo
echo "profiles: $out"
exit "$status"
