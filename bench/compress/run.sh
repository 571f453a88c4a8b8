#!/usr/bin/env bash
# Compressed hits on /static/app.css (200 KiB of CSS): cachefront's br (and
# gzip) variants, built once at fill, against its identity hits of the same
# object and against nginx `gzip on`, which compresses on every hit.
# Needs the harness origin on 9100 and bench/cachefront.toml's node (run.sh
# starts one). Loopback only, bounded runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
harness=${PERF_HARNESS:-$BENCH_ROOT/../shared/perf}
run=${BENCH_OUT:-/tmp/cachefront-compress-bench}
secs=${SECS:-8}
mkdir -p "$run/gzip-cache"
ensure_cf_bin
port_busy 9100 || PERF_RUN=${PERF_RUN:-/tmp/perf-run} "$harness/anchors-up.sh" origin

start_bg "$run/cachefront.log" cachefront -- taskset -c 1 "$CF_BIN" --config "$BENCH_ROOT/bench/cachefront.toml"; cf=$STARTED
sed "s|@RUN@|$run|g" "$here/nginx-gzip.conf" >"$run/nginx-gzip.conf"
start_bg - nginx -- taskset -c 1 nginx -c "$run/nginx-gzip.conf" -g 'daemon off;'; ng=$STARTED
wait_port 8200 $cf; wait_port 8211 $ng
for enc in identity br gzip; do
  for _ in 1 2 3; do curl -s -o /dev/null -H "Accept-Encoding: $enc" http://127.0.0.1:8200/static/app.css; done
  curl -s -o /dev/null -H "Accept-Encoding: $enc" http://127.0.0.1:8211/static/app.css
  curl -s -o /dev/null -H "Accept-Encoding: $enc" http://127.0.0.1:8211/static/app.css
done
sleep 2 # best-level variants replace the fast ones in the background
printf "%-22s %10s %12s %10s %10s\n" target req/s cpu_us/req p99 bytes
for t in cachefront-identity:8200:identity:$cf cachefront-br:8200:br:$cf cachefront-gzip:8200:gzip:$cf nginx-gzip-on:8211:gzip:$ng; do
  IFS=: read -r name port enc pid <<<"$t"
  read -r -a tree <<<"$(with_children "$pid")"
  size=$(curl -s -H "Accept-Encoding: $enc" "http://127.0.0.1:$port/static/app.css" | wc -c)
  before=$(ticks_of "${tree[@]}")
  out=$(taskset -c 0 wrk -t1 -c64 -d"${secs}s" --latency -H "Accept-Encoding: $enc" "http://127.0.0.1:$port/static/app.css")
  after=$(ticks_of "${tree[@]}")
  reqs=$(awk '/requests in/{print $1}' <<<"$out")
  printf "%-22s %10s %12.1f %10s %10s\n" "$name" "$(awk '/Requests\/sec/{print $2}' <<<"$out")" \
    "$(us_per_req "$before" "$after" "$reqs")" "$(awk '/ 99%/{print $2}' <<<"$out")" "$size"
done
