#!/usr/bin/env bash
# bench/latency.sh - latency at equal offered load: wrk -t1 -c64 with a think time per
# connection (bench/think.lua), against servers already running (bench/run.sh calls it last).
#
# Usage: bench/latency.sh OBJECTS NAME=URL...     OBJECTS comma-separated, e.g. /static/1k.bin
# Env: THINK_MS [1], LATENCY_SECS [5], LOAD_CPUS [0]; the first NAME is the one compared.
# Prints a markdown table: object, target, req/s, p50, p90, p99, p99 vs the first target's.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
objects=$1; shift
secs=${LATENCY_SECS:-5}
export THINK_MS=${THINK_MS:-1}
us() { # wrk latency ("812.00us", "1.53ms", "2.1s") -> microseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else print n * 1000000 }'
}
echo "| object | target | req/s | p50 | p90 | p99 | p99 vs ${1%%=*} |"
echo "|---|---|---:|---:|---:|---:|---:|"
IFS=, read -r -a objs <<<"$objects"
for o in "${objs[@]}"; do
  base=""
  for t in "$@"; do
    name=${t%%=*} url=${t#*=}
    out=$(taskset -c "${LOAD_CPUS:-0}" wrk -t1 -c64 -d"${secs}s" --latency -s "$BENCH_DIR/think.lua" "$url$o")
    rps=$(awk '/Requests\/sec/{printf "%d", $2}' <<<"$out")
    p50=$(us "$(awk '$1=="50%"{print $2}' <<<"$out")")
    p90=$(us "$(awk '$1=="90%"{print $2}' <<<"$out")")
    p99=$(us "$(awk '$1=="99%"{print $2}' <<<"$out")")
    [ -n "$base" ] || base=$p99
    ratio=$(awk -v a="$p99" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
    printf '| %s | %s | %s | %.0f us | %.0f us | %.0f us | %s |\n' "$o" "$name" "$rps" "$p50" "$p90" "$p99" "$ratio"
  done
done
