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
#   5. prints the ratios and target checks (bench/ratios.py), then stops everything it started,
#      by PID
#
# Usage: bench/run.sh            (from anywhere; needs root for anchors-up.sh's chown, nginx, varnish,
#                                  wrk, curl, taskset, python3; see bench/README.md)
# Env knobs (defaults in brackets):
#   PERF_HARNESS    the shared harness dir          [<this dir>/../../shared/perf]
#   REPO_DIR        cachefront checkout to build    [<this dir>/..]
#   CARGO_TARGET_DIR  cachefront's target dir (relative = relative to REPO_DIR) [REPO_DIR/target]
#   FLOOR_TARGET_DIR  the floor's target dir        [/tmp/floor-target]
#   SKIP_BUILD=1    use the binaries already built
#   OBJECTS         comma-separated paths           [/static/1k.bin,/static/16k.bin,/static/128k.bin,/media/1m.bin]
#   BENCH_ARGS      extra bench.sh flags, e.g. "-r 2" or "-d 5"   []
#   PROXY_CPUS / LOAD_CPUS   CPU of the proxies / of wrk         [1 / 0]
#   ATS=0           do not benchmark Traffic Server even if it is installed
#   PERF_RUN        harness runtime dir (pid files, logs) [/tmp/perf-run]
#   BENCH_OUT       where the table, raw CSV and logs of this run go [$PERF_RUN/cachefront-bench-<time>]
#                   (not OUT_DIR: build scripts such as ring's rebuild when an OUT_DIR env var changes)
#   (bench.sh's own knobs OTHER_MAX, RETRIES, BUDGET, QUIET_WAIT pass through unchanged)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
PERF_HARNESS=${PERF_HARNESS:-$BENCH_DIR/../../shared/perf}
PERF_HARNESS=$(cd "$PERF_HARNESS" && pwd) || { echo "no perf harness at $PERF_HARNESS (set PERF_HARNESS)" >&2; exit 2; }
REPO_DIR=$(cd "${REPO_DIR:-$BENCH_DIR/..}" && pwd)
FLOOR_TARGET_DIR=${FLOOR_TARGET_DIR:-/tmp/floor-target}
OBJECTS=${OBJECTS:-/static/1k.bin,/static/16k.bin,/static/128k.bin,/media/1m.bin}
BENCH_ARGS=${BENCH_ARGS:-}
export PERF_RUN=${PERF_RUN:-/tmp/perf-run}
export ORIGIN_ROOT=${ORIGIN_ROOT:-/tmp/perf-origin}
export PROXY_CPUS=${PROXY_CPUS:-1}
export LOAD_CPUS=${LOAD_CPUS:-0}
BENCH_OUT=${BENCH_OUT:-$PERF_RUN/cachefront-bench-$(date +%Y%m%d-%H%M%S)}
CONFIG=$BENCH_DIR/cachefront.toml
CF_PORT=8200
FLOOR_PORT=8299
HOST=127.0.0.1

for tool in nginx varnishd wrk curl taskset python3 openssl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y --no-install-recommends nginx varnish wrk curl python3)" >&2; exit 2; }
done
mkdir -p "$PERF_RUN" "$BENCH_OUT"
log() { echo "[run.sh] $*"; }

# ---- cleanup: only what this script started, by PID ----
STARTED_ANCHORS=()
declare -A MYPID=() MYCOMM=()
cleanup() {
  local rc=$? n pid
  set +e
  for n in "${!MYPID[@]}"; do
    pid=${MYPID[$n]}
    if [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "${MYCOMM[$n]}" ]; then
      kill -TERM "$pid"
      for _ in $(seq 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
      [ -d "/proc/$pid" ] && kill -KILL "$pid"
      log "stopped $n (pid $pid)"
    fi
  done
  if [ ${#STARTED_ANCHORS[@]} -gt 0 ]; then
    "$PERF_HARNESS/anchors-down.sh" "${STARTED_ANCHORS[@]}"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
wait_port() { # PORT PID
  local i
  for ((i = 0; i < 300; i++)); do
    port_busy "$1" && return 0
    [ -d "/proc/$2" ] || { echo "process $2 exited before listening on $1" >&2; return 1; }
    sleep 0.1
  done
  echo "timeout waiting for $HOST:$1" >&2; return 1
}

# ---- 1. build ----
case ${CARGO_TARGET_DIR:-} in
  "") CF_TARGET=$REPO_DIR/target ;;
  /*) CF_TARGET=$CARGO_TARGET_DIR ;;
  *) CF_TARGET=$REPO_DIR/$CARGO_TARGET_DIR ;;
esac
CF_BIN=$CF_TARGET/release/cachefront
FLOOR_BIN=$FLOOR_TARGET_DIR/release/cachefront-floor
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building cachefront in $REPO_DIR (target $CF_TARGET)"
  (cd "$REPO_DIR" && CARGO_TARGET_DIR=$CF_TARGET cargo build --release --bin cachefront)
  log "building the floor (target $FLOOR_TARGET_DIR)"
  (cd "$BENCH_DIR/floor" && CARGO_TARGET_DIR=$FLOOR_TARGET_DIR cargo build --release)
fi
[ -x "$CF_BIN" ] && [ -x "$FLOOR_BIN" ] || { echo "missing $CF_BIN or $FLOOR_BIN" >&2; exit 1; }
"$CF_BIN" check --config "$CONFIG"

# ---- 2. objects + anchors ----
"$PERF_HARNESS/gen-objects.sh"
anchors=(origin nginx varnish)
if [ "${ATS:-1}" != 0 ] && command -v traffic_server >/dev/null; then anchors+=(ats); fi
for p in 9100 8201 8202 8203 $CF_PORT $FLOOR_PORT; do
  if port_busy "$p"; then echo "port $p is already in use: stop whatever listens there first" >&2; exit 1; fi
done
STARTED_ANCHORS=("${anchors[@]}")   # anchors-down.sh only touches PIDs anchors-up.sh recorded
"$PERF_HARNESS/anchors-up.sh" "${anchors[@]}" 2>&1 | tee "$BENCH_OUT/anchors-up.log"
if grep -q '^WARN' "$BENCH_OUT/anchors-up.log"; then echo "anchors not all warm (see above)" >&2; exit 1; fi

# ---- 3. cachefront + floor, pinned like the anchors ----
PIN=(); [ -n "$PROXY_CPUS" ] && PIN=(taskset -c "$PROXY_CPUS")
"${PIN[@]}" "$CF_BIN" serve --config "$CONFIG" >"$BENCH_OUT/cachefront.log" 2>&1 &
MYPID[cachefront]=$!; MYCOMM[cachefront]=cachefront
"${PIN[@]}" "$FLOOR_BIN" "$FLOOR_PORT" "$ORIGIN_ROOT" >"$BENCH_OUT/floor.log" 2>&1 &
MYPID[floor]=$!; MYCOMM[floor]=cachefront-floo   # comm is cut to 15 characters
wait_port $CF_PORT "${MYPID[cachefront]}"
wait_port $FLOOR_PORT "${MYPID[floor]}"
# the PIDs above are taskset's, which exec()s the server: check it did
for n in cachefront floor; do
  sleep 0.1
  c=$(cat "/proc/${MYPID[$n]}/comm")
  [ "$c" = "${MYCOMM[$n]}" ] || { echo "$n: pid ${MYPID[$n]} is '$c'" >&2; exit 1; }
  log "started $n pid ${MYPID[$n]} ($(taskset -pc "${MYPID[$n]}" | sed 's/.*: /cpus /'))"
done

# warm: every benchmarked object twice; the second must be a cachefront hit of the right size
IFS=, read -r -a objs <<<"$OBJECTS"
fail=0
for o in "${objs[@]}"; do
  size=$(stat -c %s "$ORIGIN_ROOT$o")
  for n in cachefront floor; do
    port=$CF_PORT; [ $n = floor ] && port=$FLOOR_PORT
    curl -sS -o /dev/null "http://$HOST:$port$o"
    hdrs=$(curl -sS -o /dev/null -D - -w 'SIZE %{size_download}\n' "http://$HOST:$port$o" | tr -d '\r')
    got=$(awk '/^SIZE/{print $2}' <<<"$hdrs")
    xc=$(awk -F': *' 'tolower($1)=="x-cache"{print $2}' <<<"$hdrs")
    if [ "$got" != "$size" ]; then echo "WARN $n $o: $got bytes, want $size" >&2; fail=1; fi
    if [ $n = cachefront ] && ! grep -q '^Hit' <<<"$xc"; then echo "WARN cachefront $o: X-Cache '$xc'" >&2; fail=1; fi
    log "$n $o -> $got bytes, X-Cache: $xc"
  done
done
[ $fail = 0 ] || { echo "warm-up checks failed" >&2; exit 1; }

# ---- 4. bench ----
targets=(cachefront=http://$HOST:$CF_PORT floor=http://$HOST:$FLOOR_PORT
         nginx=http://$HOST:8201 varnish=http://$HOST:8202)
[[ " ${anchors[*]} " == *" ats "* ]] && targets+=(ats=http://$HOST:8203)
# shellcheck disable=SC2206
cmd=(env LOAD_CPUS="$LOAD_CPUS" "$PERF_HARNESS/bench.sh" -o "$OBJECTS" -b nginx -R "$BENCH_OUT/bench.csv"
     -p "cachefront=${MYPID[cachefront]}" -p "floor=${MYPID[floor]}" $BENCH_ARGS "${targets[@]}")
echo "${cmd[*]}" >"$BENCH_OUT/command"
log "bench: ${cmd[*]}"
"${cmd[@]}" 2>&1 | tee "$BENCH_OUT/bench.txt"

# ---- 5. ratios and targets ----
python3 "$BENCH_DIR/ratios.py" "$BENCH_OUT/bench.csv" | tee "$BENCH_OUT/ratios.md"
log "results in $BENCH_OUT (bench.txt, bench.csv, ratios.md, logs)"
