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
root=$(cd "$here/../.." && pwd)
harness=${PERF_HARNESS:-$root/../shared/perf}
target=${CARGO_TARGET_DIR:-$root/target}
bin=$target/release/cachefront
run=${BENCH_OUT:-/tmp/cachefront-media-bench}
origin_root=${ORIGIN_ROOT:-/tmp/perf-origin}
secs=${SECS:-10}
mkdir -p "$run"

[ -x "$bin" ] || (cd "$root" && cargo build --release)
(exec 3<>/dev/tcp/127.0.0.1/9100) 2>/dev/null || PERF_RUN=${PERF_RUN:-/tmp/perf-run} "$harness/anchors-up.sh" origin
for f in 256m 1g; do
  [ -f "$origin_root/media/$f.bin" ] || head -c "$([ $f = 1g ] && echo 1073741824 || echo 268435456)" /dev/urandom >"$origin_root/media/$f.bin"
done

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "== 1 GiB streamed uncached (slice off)"
taskset -c 1 "$bin" --config "$here/stream.toml" >"$run/stream.log" 2>&1 & pid=$!; pids+=($pid)
wait_port 8200
idle=$(kib $pid VmRSS)
curl -s -o /dev/null -w "%{http_code} %{size_download} bytes in %{time_total}s\n" --max-time 120 http://127.0.0.1:8200/media/1g.bin
peak=$(kib $pid VmHWM)
echo "RSS idle ${idle} KiB, peak ${peak} KiB, growth $(( (peak - idle) / 1024 )) MiB (target <= 64 MiB)"
kill $pid; wait $pid 2>/dev/null || true
sleep 0.5

echo "== 1 MiB Range hits into a cached 256 MiB object"
taskset -c 1 "$bin" --config "$here/sliced.toml" >"$run/sliced.log" 2>&1 & cf=$!; pids+=($cf)
sed "s|@RUN@|$run|g" "$here/nginx-slice.conf" >"$run/nginx-slice.conf"
mkdir -p "$run/slice-cache"
taskset -c 1 nginx -c "$run/nginx-slice.conf" -g 'daemon off;' & ng=$!; pids+=($ng)
wait_port 8200; wait_port 8210
for port in 8200 8210; do   # warm: every slice cached
  curl -s -o /dev/null --max-time 120 "http://127.0.0.1:$port/media/256m.bin"
  curl -s -o /dev/null --max-time 120 "http://127.0.0.1:$port/media/256m.bin"
done
printf "%-11s %10s %12s %10s %10s\n" target req/s cpu_us/req p99 rss_mib
for t in cachefront:8200:$cf nginx-slice:8210:$ng; do
  IFS=: read -r name port pid <<<"$t"
  tree=$(pgrep -P "$pid" | tr "\n" " " || true)
  before=0; for p in $pid $tree; do before=$((before + $(cpu_ticks "$p"))); done
  out=$(taskset -c 0 wrk -t1 -c16 -d"${secs}s" --latency -s "$here/range.lua" "http://127.0.0.1:$port")
  after=0; for p in $pid $tree; do after=$((after + $(cpu_ticks "$p"))); done
  reqs=$(awk '/requests in/{print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p99=$(awk '/ 99%/{print $2}' <<<"$out")
  rss=0; for p in $pid $tree; do rss=$((rss + $(kib "$p" VmHWM))); done
  printf "%-11s %10s %12.1f %10s %10d\n" "$name" "$rps" "$(echo "($after-$before)*1000000/$(getconf CLK_TCK)/$reqs" | bc -l)" "$p99" $((rss / 1024))
done
