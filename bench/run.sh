#!/usr/bin/env bash
# bench/run.sh - benchmark cachefront's hit path beside nginx and Varnish (and Traffic Server,
# if installed) with the shared perf harness, plus "the floor" (a bare hyper server, bench/floor/).
#
#   1. builds cachefront (release, in the repo this script lives in) and the floor
#   2. generates the harness objects and starts the anchors pinned to CPU 1:
#      origin 9100, nginx 8201, varnish 8202 (ats 8203 if traffic_server is installed)
#   3. starts cachefront on 8200 (bench/cachefront.toml) and the floor on 8299, both pinned
#      to CPU 1, warms them and checks every object is a cachefront hit
#   4. runs the harness's bench.sh (wrk pinned to CPU 0), nginx as the ratio baseline
#   5. prints the ratios and target checks (bench/ratios.py)
#   6. measures latency at equal offered load (bench/latency.sh: wrk with a 1 ms think time per
#      connection), then stops everything it started, by PID
# With ACCESS_LOG=1 (or --with-log) a second cachefront, "cachefront+log", runs beside the first
# on 8204 with the same config plus `server.access_log` on tmpfs, and is benchmarked in the same
# bench.sh run: the access log's cost as rows beside the log-off ones.
#
# Usage: bench/run.sh [--with-log]   (from anywhere; needs root for anchors-up.sh's chown, nginx,
#                                  varnish, wrk, curl, taskset, python3; see bench/README.md)
# Env knobs (defaults in brackets):
#   PERF_HARNESS    the shared harness dir          [<this dir>/../../shared/perf]
#   REPO_DIR        cachefront checkout to build    [<this dir>/..]
#   CARGO_TARGET_DIR  cachefront's target dir (relative = relative to REPO_DIR) [REPO_DIR/target]
#   FLOOR_TARGET_DIR  the floor's target dir        [/tmp/floor-target]
#   SKIP_BUILD=1    use the binaries already built
#   OBJECTS         comma-separated paths           [/static/1k.bin,/static/16k.bin,/static/128k.bin,/media/1m.bin]
#   REPEATS         repeats of every cell (bench.sh -r; the median is reported)   [5]
#   BENCH_ARGS      extra bench.sh flags, e.g. "-d 5"   []
#   PROXY_CPUS / LOAD_CPUS   CPU of the proxies / of wrk         [1 / 0]
#   ATS=0           do not benchmark Traffic Server even if it is installed
#   PERF_RUN        harness runtime dir (pid files, logs) [/tmp/perf-run]
#   BENCH_OUT       where the table, raw CSV and logs of this run go [$PERF_RUN/cachefront-bench-<time>]
#                   (not OUT_DIR: build scripts such as ring's rebuild when an OUT_DIR env var changes)
#   ACCESS_LOG=1    also benchmark cachefront+log (as --with-log)   [0]
#   ACCESS_LOG_DIR  where cachefront+log writes (a tmpfs: the log's CPU cost, not a disk's) [/dev/shm]
#   ACCESS_LOG_MIN_FREE_MIB  the log grows for the whole run (~3 GiB; a 1 KiB cell writes ~250 MiB)
#                   and is truncated only when its tmpfs has less than this free [1024]
#   KEEP_ACCESS_LOG=1   keep the log file after the run (deleted by default)
#   LATENCY=0       skip step 6; THINK_MS, LATENCY_SECS tune it   [1 ms, 5 s]
#   BUDGET          bench.sh's time budget for re-running disturbed cells [2400 s: the run itself
#                   takes ~22 minutes, and with bench.sh's 480 no disturbed cell would be re-run]
#   (bench.sh's own knobs OTHER_MAX, RETRIES, QUIET_WAIT pass through unchanged)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
. "$BENCH_DIR/lib.sh"
case ${1:-} in
  --with-log) ACCESS_LOG=1 ;;
  "") ;;
  *) sed -n '2,38p' "$0" >&2; exit 2 ;;
esac
ACCESS_LOG=${ACCESS_LOG:-0}
PERF_HARNESS=${PERF_HARNESS:-$BENCH_DIR/../../shared/perf}
PERF_HARNESS=$(cd "$PERF_HARNESS" && pwd) || { echo "no perf harness at $PERF_HARNESS (set PERF_HARNESS)" >&2; exit 2; }
REPO_DIR=$(cd "${REPO_DIR:-$BENCH_DIR/..}" && pwd)
FLOOR_TARGET_DIR=${FLOOR_TARGET_DIR:-/tmp/floor-target}
OBJECTS=${OBJECTS:-/static/1k.bin,/static/16k.bin,/static/128k.bin,/media/1m.bin}
BENCH_ARGS=${BENCH_ARGS:-}
# Five repeats, not the harness's three: on this shared VM one repeat of a cell moves by 10-35%,
# and a median of three flipped ratios near their targets from run to run.
REPEATS=${REPEATS:-5}
export BUDGET=${BUDGET:-2400}
export PERF_RUN=${PERF_RUN:-/tmp/perf-run}
export ORIGIN_ROOT=${ORIGIN_ROOT:-/tmp/perf-origin}
export PROXY_CPUS=${PROXY_CPUS:-1}
export LOAD_CPUS=${LOAD_CPUS:-0}
BENCH_OUT=${BENCH_OUT:-$PERF_RUN/cachefront-bench-$(date +%Y%m%d-%H%M%S)}
CONFIG=$BENCH_DIR/cachefront.toml
CF_PORT=8200
CF_LOG_PORT=8204
FLOOR_PORT=8299
HOST=127.0.0.1

for tool in nginx varnishd wrk curl taskset python3 openssl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y --no-install-recommends nginx varnish wrk curl python3)" >&2; exit 2; }
done
mkdir -p "$PERF_RUN" "$BENCH_OUT"
log() { echo "[run.sh] $*"; }

# ---- cleanup: only what this script started, by PID (stop_started, lib.sh) ----
STARTED_ANCHORS=()
ACCESS_LOG_FILE=
cleanup() {
  local rc=$?
  set +e
  stop_started
  if [ ${#STARTED_ANCHORS[@]} -gt 0 ]; then
    "$PERF_HARNESS/anchors-down.sh" "${STARTED_ANCHORS[@]}"
  fi
  if [ -n "$ACCESS_LOG_FILE" ] && [ "${KEEP_ACCESS_LOG:-0}" != 1 ]; then rm -f "$ACCESS_LOG_FILE"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. build ----
use_checkout "$REPO_DIR"
FLOOR_BIN=$FLOOR_TARGET_DIR/release/cachefront-floor
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building cachefront in $REPO_DIR (target $CF_TARGET)"
  (cd "$REPO_DIR" && CARGO_TARGET_DIR=$CF_TARGET cargo build --release --bin cachefront)
  log "building the floor (target $FLOOR_TARGET_DIR)"
  (cd "$BENCH_DIR/floor" && CARGO_TARGET_DIR=$FLOOR_TARGET_DIR cargo build --release)
fi
[ -x "$CF_BIN" ] && [ -x "$FLOOR_BIN" ] || { echo "missing $CF_BIN or $FLOOR_BIN" >&2; exit 1; }
"$CF_BIN" check --config "$CONFIG"
if [ "$ACCESS_LOG" = 1 ]; then
  ACCESS_LOG_DIR=${ACCESS_LOG_DIR:-/dev/shm}
  [ "$(stat -f -c %T "$ACCESS_LOG_DIR")" = tmpfs ] || log "WARN: $ACCESS_LOG_DIR is not a tmpfs: cachefront+log pays for a disk"
  ACCESS_LOG_FILE=$ACCESS_LOG_DIR/cachefront-bench-access-$$.log
  LOG_CONFIG=$BENCH_OUT/cachefront-log.toml
  with_access_log "$CONFIG" $CF_LOG_PORT "$ACCESS_LOG_FILE" >"$LOG_CONFIG"
  "$CF_BIN" check --config "$LOG_CONFIG"
fi

# ---- 2. objects + anchors ----
"$PERF_HARNESS/gen-objects.sh"
anchors=(origin nginx varnish)
if [ "${ATS:-1}" != 0 ] && command -v traffic_server >/dev/null; then anchors+=(ats); fi
for p in 9100 8201 8202 8203 $CF_PORT $FLOOR_PORT $([ "$ACCESS_LOG" = 1 ] && echo $CF_LOG_PORT); do
  if port_busy "$p"; then echo "port $p is already in use: stop whatever listens there first" >&2; exit 1; fi
done
STARTED_ANCHORS=("${anchors[@]}")   # anchors-down.sh only touches PIDs anchors-up.sh recorded
"$PERF_HARNESS/anchors-up.sh" "${anchors[@]}" 2>&1 | tee "$BENCH_OUT/anchors-up.log"
if grep -q '^WARN' "$BENCH_OUT/anchors-up.log"; then echo "anchors not all warm (see above)" >&2; exit 1; fi

# ---- 3. cachefront (+log) + floor, pinned like the anchors ----
PIN=(); [ -n "$PROXY_CPUS" ] && PIN=(taskset -c "$PROXY_CPUS")
declare -A MYPID=() PORT_OF=([cachefront]=$CF_PORT [floor]=$FLOOR_PORT [cachefront+log]=$CF_LOG_PORT)
start_bg "$BENCH_OUT/cachefront.log" cachefront -- "${PIN[@]}" "$CF_BIN" serve --config "$CONFIG"
MYPID[cachefront]=$STARTED
start_bg "$BENCH_OUT/floor.log" cachefront-floo -- "${PIN[@]}" "$FLOOR_BIN" "$FLOOR_PORT" "$ORIGIN_ROOT"
MYPID[floor]=$STARTED   # comm is cut to 15 characters
mine=(cachefront floor)
if [ "$ACCESS_LOG" = 1 ]; then
  start_bg "$BENCH_OUT/cachefront-log.log" cachefront -- "${PIN[@]}" "$CF_BIN" serve --config "$LOG_CONFIG"
  MYPID[cachefront+log]=$STARTED
  mine+=(cachefront+log)
fi
for n in "${mine[@]}"; do
  wait_port "${PORT_OF[$n]}" "${MYPID[$n]}"
  # the PIDs above are taskset's, which exec()s the server: check it did
  expect_comm "${MYPID[$n]}" "${STARTED_COMM[${MYPID[$n]}]}"
  log "started $n pid ${MYPID[$n]} ($(taskset -pc "${MYPID[$n]}" | sed 's/.*: /cpus /'))"
done

# warm: every benchmarked object twice; the second must be a cachefront hit of the right size
IFS=, read -r -a objs <<<"$OBJECTS"
fail=0
for o in "${objs[@]}"; do
  size=$(stat -c %s "$ORIGIN_ROOT$o")
  for n in "${mine[@]}"; do
    port=${PORT_OF[$n]}
    curl -sS -o /dev/null "http://$HOST:$port$o"
    hdrs=$(curl -sS -o /dev/null -D - -w 'SIZE %{size_download}\n' "http://$HOST:$port$o" | tr -d '\r')
    got=$(awk '/^SIZE/{print $2}' <<<"$hdrs")
    xc=$(awk -F': *' 'tolower($1)=="x-cache"{print $2}' <<<"$hdrs")
    if [ "$got" != "$size" ]; then echo "WARN $n $o: $got bytes, want $size" >&2; fail=1; fi
    if [ $n != floor ] && ! grep -q '^Hit' <<<"$xc"; then echo "WARN $n $o: X-Cache '$xc'" >&2; fail=1; fi
    log "$n $o -> $got bytes, X-Cache: $xc"
  done
done
if [ "$ACCESS_LOG" = 1 ]; then   # the warm-up's requests reach the file (the writer flushes per batch)
  want=$(( ${#objs[@]} * 2 + 2 )); lines=0
  for _ in $(seq 50); do lines=$(wc -l <"$ACCESS_LOG_FILE"); [ "$lines" -ge "$want" ] && break; sleep 0.1; done
  if [ "$lines" -lt "$want" ]; then echo "WARN cachefront+log: $lines lines in $ACCESS_LOG_FILE, want $want" >&2; fail=1; fi
  log "cachefront+log: $lines lines in $ACCESS_LOG_FILE"
  # The file grows for the whole run (~3 GiB with the defaults) and is deleted at the end. It is
  # truncated only if the tmpfs runs low: freeing 1 GiB of tmpfs pages takes the kernel a few
  # hundred milliseconds on whichever core runs it, and a truncation in the middle of a cell raised
  # that cell's p99 from ~1.5 ms to 3.6-5.4 ms (wrk on CPU 0 or the proxy on CPU 1 lost its core).
  min_free=$(( ${ACCESS_LOG_MIN_FREE_MIB:-1024} * 1024 ))
  keep_tmpfs_free() {
    while sleep 1; do
      [ "$(df -Pk "$ACCESS_LOG_DIR" | awk 'NR==2{print $4}')" -ge "$min_free" ] && continue
      echo "[run.sh] WARN $ACCESS_LOG_DIR below ${ACCESS_LOG_MIN_FREE_MIB:-1024} MiB free: access log truncated (this cell's p99 is disturbed)" >&2
      : >"$ACCESS_LOG_FILE"
    done
  }
  start_bg /dev/null -- keep_tmpfs_free
fi
[ $fail = 0 ] || { echo "warm-up checks failed" >&2; exit 1; }

# ---- 4. bench ----
targets=() pids=()
for n in "${mine[@]}"; do targets+=("$n=http://$HOST:${PORT_OF[$n]}"); pids+=(-p "$n=${MYPID[$n]}"); done
targets+=(nginx=http://$HOST:8201 varnish=http://$HOST:8202)
[[ " ${anchors[*]} " == *" ats "* ]] && targets+=(ats=http://$HOST:8203)
# shellcheck disable=SC2206
cmd=(env LOAD_CPUS="$LOAD_CPUS" "$PERF_HARNESS/bench.sh" -o "$OBJECTS" -b nginx -R "$BENCH_OUT/bench.csv"
     "${pids[@]}" -r "$REPEATS" $BENCH_ARGS "${targets[@]}")
echo "${cmd[*]}" >"$BENCH_OUT/command"
log "bench: ${cmd[*]}"
"${cmd[@]}" 2>&1 | tee "$BENCH_OUT/bench.txt"

# ---- 5. ratios and targets ----
python3 "$BENCH_DIR/ratios.py" "$BENCH_OUT/bench.csv" | tee "$BENCH_OUT/ratios.md"

# ---- 6. latency at equal offered load (bench/latency.sh; LATENCY=0 skips it) ----
if [ "${LATENCY:-1}" = 1 ]; then
  lat=(nginx=http://$HOST:8201)
  for n in "${mine[@]}"; do [ "$n" = floor ] || lat+=("$n=http://$HOST:${PORT_OF[$n]}"); done
  lat+=(varnish=http://$HOST:8202)
  log "latency at equal offered load (think time ${THINK_MS:-1} ms per connection)"
  LOAD_CPUS="$LOAD_CPUS" "$BENCH_DIR/latency.sh" "$OBJECTS" "${lat[@]}" | tee "$BENCH_OUT/latency.md"
fi
log "results in $BENCH_OUT (bench.txt, bench.csv, ratios.md, logs)"
