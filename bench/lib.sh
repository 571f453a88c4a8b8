# bench/lib.sh - the helpers every bench script repeated: where the release binary is,
# starting servers in the background and stopping exactly those (by PID, never by name),
# waiting for a port, and reading CPU ticks and memory from /proc. Loopback only.
#
# Sourced (not run) by bench/run.sh, bench/compress/run.sh, bench/media/run.sh and
# bench/soak/common.sh:   . "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# It sets BENCH_ROOT (the checkout), CF_TARGET and CF_BIN (the release binary, honouring
# CARGO_TARGET_DIR; a relative one is relative to the checkout, where cargo runs; another
# checkout with `use_checkout DIR`), and an
# EXIT trap that stops what `start_bg` started. A script that has more to clean up sets its
# own trap and calls `stop_started` from it.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# use_checkout DIR: CF_TARGET and CF_BIN for the checkout DIR
use_checkout() {
  case ${CARGO_TARGET_DIR:-} in
    "") CF_TARGET=$1/target ;;
    /*) CF_TARGET=$CARGO_TARGET_DIR ;;
    *) CF_TARGET=$1/$CARGO_TARGET_DIR ;;
  esac
  CF_BIN=$CF_TARGET/release/cachefront
}
use_checkout "$BENCH_ROOT"

# ensure_cf_bin: build the release binary once if it is missing.
ensure_cf_bin() {
  [ -x "$CF_BIN" ] || (cd "$BENCH_ROOT" && CARGO_TARGET_DIR=$CF_TARGET cargo build --release --bin cachefront)
}

# with_access_log CONFIG PORT LOG_FILE: CONFIG (a cachefront TOML) listening on 127.0.0.1:PORT
# instead, with `server.access_log = LOG_FILE`, on stdout.
with_access_log() {
  awk -v port="$2" -v file="$3" '
    /^\[server\]/ { print; printf "access_log = \"%s\"\n", file; next }
    /^listen *=/ { sub(/"[^"]*"/, "\"127.0.0.1:" port "\"") }
    { print }' "$1"
}

# ---- background servers, stopped by PID ----
STARTED_PIDS=()        # in start order
declare -A STARTED_COMM=()

# start_bg LOG [COMM] -- CMD...: run CMD in the background with stdout+stderr to LOG (or
# "-" for ours) and remember its PID in $STARTED (and STARTED_PIDS). COMM, when given, is
# the process name the PID must have when stopped (e.g. after `taskset` exec()s the server;
# /proc/PID/comm is cut to 15 characters), so a reused PID is never signalled.
start_bg() {
  local out=$1 comm=""; shift
  if [ "$1" != -- ]; then comm=$1; shift; fi
  shift # --
  if [ "$out" = - ]; then "$@" & else "$@" >"$out" 2>&1 & fi
  STARTED=$!
  STARTED_PIDS+=("$STARTED")
  STARTED_COMM[$STARTED]=$comm
}

# stop_started: TERM each started process still alive (and still COMM, when one was given),
# wait up to 5 s for it, then KILL; reap our own children.
stop_started() {
  local pid comm
  for pid in "${STARTED_PIDS[@]}"; do
    [ -d "/proc/$pid" ] || continue
    comm=${STARTED_COMM[$pid]:-}
    if [ -n "$comm" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$comm" ]; then continue; fi
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
  done
  STARTED_PIDS=()
}
trap stop_started EXIT

# alive PID: running (not gone, not a zombie waiting to be reaped)
alive() { [ -d "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# expect_comm PID COMM: fail unless PID is (now) COMM, i.e. a `taskset` wrapper exec()ed.
expect_comm() {
  local c
  for _ in $(seq 20); do c=$(cat "/proc/$1/comm" 2>/dev/null) || break; [ "$c" = "$2" ] && return 0; sleep 0.05; done
  echo "pid $1 is '${c:-gone}', not $2" >&2; return 1
}

# ---- ports ----
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_port PORT [PID]: until 127.0.0.1:PORT accepts (up to 30 s); with PID, fail as soon
# as that process has exited.
wait_port() {
  local i
  for ((i = 0; i < 300; i++)); do
    port_busy "$1" && return 0
    if [ -n "${2:-}" ] && ! alive "$2"; then echo "process $2 exited before listening on $1" >&2; return 1; fi
    sleep 0.1
  done
  echo "timeout waiting for 127.0.0.1:$1" >&2; return 1
}

# ---- /proc readings ----
# kib PID FIELD: a /proc/PID/status field in KiB (VmRSS, VmHWM)
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
# cpu_ticks PID: user + system clock ticks of one process
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# with_children PID: PID and its direct children (nginx's master and workers)
with_children() { echo "$1" $(pgrep -P "$1" || true); }
# ticks_of PID...: cpu_ticks summed over the list
ticks_of() { local p t=0; for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done; echo $t; }
# us_per_req TICKS_BEFORE TICKS_AFTER REQUESTS: CPU µs per request
us_per_req() { echo "($2-$1)*1000000/$(getconf CLK_TCK)/$3" | bc -l; }
