#!/usr/bin/env bash
# Compressed hits on /static/app.css (200 KiB of CSS): cachefront's br (and
# gzip) variants, built once at fill, against its identity hits of the same
# object and against nginx `gzip on`, which compresses on every hit.
# Needs the harness origin on 9100 and bench/cachefront.toml's node (run.sh
# starts one). Loopback only, bounded runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
harness=${PERF_HARNESS:-$root/../shared/perf}
target=${CARGO_TARGET_DIR:-$root/target}
bin=$target/release/cachefront
run=${BENCH_OUT:-/tmp/cachefront-compress-bench}
secs=${SECS:-8}
mkdir -p "$run/gzip-cache"
[ -x "$bin" ] || (cd "$root" && cargo build --release)
(exec 3<>/dev/tcp/127.0.0.1/9100) 2>/dev/null || PERF_RUN=${PERF_RUN:-/tmp/perf-run} "$harness/anchors-up.sh" origin

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

taskset -c 1 "$bin" --config "$root/bench/cachefront.toml" >"$run/cachefront.log" 2>&1 & cf=$!; pids+=($cf)
sed "s|@RUN@|$run|g" "$here/nginx-gzip.conf" >"$run/nginx-gzip.conf"
taskset -c 1 nginx -c "$run/nginx-gzip.conf" -g 'daemon off;' & ng=$!; pids+=($ng)
wait_port 8200; wait_port 8211
for enc in identity br gzip; do
  for _ in 1 2 3; do curl -s -o /dev/null -H "Accept-Encoding: $enc" http://127.0.0.1:8200/static/app.css; done
  curl -s -o /dev/null -H "Accept-Encoding: $enc" http://127.0.0.1:8211/static/app.css
  curl -s -o /dev/null -H "Accept-Encoding: $enc" http://127.0.0.1:8211/static/app.css
done
sleep 2 # best-level variants replace the fast ones in the background
printf "%-22s %10s %12s %10s %10s\n" target req/s cpu_us/req p99 bytes
for t in cachefront-identity:8200:identity:$cf cachefront-br:8200:br:$cf cachefront-gzip:8200:gzip:$cf nginx-gzip-on:8211:gzip:$ng; do
  IFS=: read -r name port enc pid <<<"$t"
  tree=$(pgrep -P "$pid" | tr "\n" " " || true)
  size=$(curl -s -H "Accept-Encoding: $enc" "http://127.0.0.1:$port/static/app.css" | wc -c)
  before=0; for p in $pid $tree; do before=$((before + $(cpu_ticks "$p"))); done
  out=$(taskset -c 0 wrk -t1 -c64 -d"${secs}s" --latency -H "Accept-Encoding: $enc" "http://127.0.0.1:$port/static/app.css")
  after=0; for p in $pid $tree; do after=$((after + $(cpu_ticks "$p"))); done
  reqs=$(awk '/requests in/{print $1}' <<<"$out")
  printf "%-22s %10s %12.1f %10s %10s\n" "$name" "$(awk '/Requests\/sec/{print $2}' <<<"$out")" \
    "$(echo "($after-$before)*1000000/$(getconf CLK_TCK)/$reqs" | bc -l)" "$(awk '/ 99%/{print $2}' <<<"$out")" "$size"
done
