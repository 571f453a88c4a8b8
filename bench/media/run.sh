#!/usr/bin/env bash
# Large media, measured: (1) peak RSS of cachefront while a 1 GiB object
# streams through uncached (issue target: within 64 MiB of idle), and
# (2) req/s and CPU us/request for random 1 MiB Range hits into a cached
# 256 MiB object, cachefront's slices beside nginx's slice module.
#
# Needs the shared perf harness origin (../../../shared/perf anchors-up.sh
# origin) on 127.0.0.1:9100 and a release build (CARGO_TARGET_DIR honoured).
# Loopback only; every run bounded in time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
harness=${PERF_HARNESS:-$BENCH_ROOT/../shared/perf}
run=${BENCH_OUT:-/tmp/cachefront-media-bench}
origin_root=${ORIGIN_ROOT:-/tmp/perf-origin}
secs=${SECS:-10}
mkdir -p "$run"

ensure_cf_bin
port_busy 9100 || PERF_RUN=${PERF_RUN:-/tmp/perf-run} "$harness/anchors-up.sh" origin
for f in 256m 1g; do
  [ -f "$origin_root/media/$f.bin" ] || head -c "$([ $f = 1g ] && echo 1073741824 || echo 268435456)" /dev/urandom >"$origin_root/media/$f.bin"
done

echo "== 1 GiB streamed uncached (slice off)"
start_bg "$run/stream.log" cachefront -- taskset -c 1 "$CF_BIN" --config "$here/stream.toml"; pid=$STARTED
wait_port 8200 $pid
idle=$(kib $pid VmRSS)
curl -s -o /dev/null -w "%{http_code} %{size_download} bytes in %{time_total}s\n" --max-time 120 http://127.0.0.1:8200/media/1g.bin
peak=$(kib $pid VmHWM)
echo "RSS idle ${idle} KiB, peak ${peak} KiB, growth $(( (peak - idle) / 1024 )) MiB (target <= 64 MiB)"
kill $pid; wait $pid 2>/dev/null || true
sleep 0.5

echo "== 1 MiB Range hits into a cached 256 MiB object"
start_bg "$run/sliced.log" cachefront -- taskset -c 1 "$CF_BIN" --config "$here/sliced.toml"; cf=$STARTED
sed "s|@RUN@|$run|g" "$here/nginx-slice.conf" >"$run/nginx-slice.conf"
mkdir -p "$run/slice-cache"
start_bg - nginx -- taskset -c 1 nginx -c "$run/nginx-slice.conf" -g 'daemon off;'; ng=$STARTED
wait_port 8200 $cf; wait_port 8210 $ng
for port in 8200 8210; do   # warm: every slice cached
  curl -s -o /dev/null --max-time 120 "http://127.0.0.1:$port/media/256m.bin"
  curl -s -o /dev/null --max-time 120 "http://127.0.0.1:$port/media/256m.bin"
done
printf "%-11s %10s %12s %10s %10s\n" target req/s cpu_us/req p99 rss_mib
for t in cachefront:8200:$cf nginx-slice:8210:$ng; do
  IFS=: read -r name port pid <<<"$t"
  read -r -a tree <<<"$(with_children "$pid")"
  before=$(ticks_of "${tree[@]}")
  out=$(taskset -c 0 wrk -t1 -c16 -d"${secs}s" --latency -s "$here/range.lua" "http://127.0.0.1:$port")
  after=$(ticks_of "${tree[@]}")
  reqs=$(awk '/requests in/{print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p99=$(awk '/ 99%/{print $2}' <<<"$out")
  rss=0; for p in "${tree[@]}"; do rss=$((rss + $(kib "$p" VmHWM))); done
  printf "%-11s %10s %12.1f %10s %10d\n" "$name" "$rps" "$(us_per_req "$before" "$after" "$reqs")" "$p99" $((rss / 1024))
done
