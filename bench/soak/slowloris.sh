#!/usr/bin/env bash
# p99 of normal requests, idle and then while SLOW (2000) slowloris
# connections trickle header bytes (slowloris.py); target: within 2x.
# Knobs: SLOW (2000), SECS (20 per measurement), CONNS (16), BIN, PORT.
source "$(dirname "$0")/common.sh"
slow=${SLOW:-2000}
secs=${SECS:-20}
conns=${CONNS:-16}
ulimit -n "$(( slow * 2 + 1024 > $(ulimit -Hn) ? $(ulimit -Hn) : slow * 2 + 1024 ))"
make_bucket "$run/bucket-small" 100 1024
start_edge "64MiB" "$run/bucket-small"
for i in $(seq 0 99); do curl -s -o /dev/null "http://127.0.0.1:$port/o/$i.bin"; done
cat >"$run/hundred.lua" <<'LUA'
local i = 0
function request() i = (i + 1) % 100; return wrk.format("GET", "/o/" .. i .. ".bin") end
LUA
p99() { awk '$1 == "99%" {print $2}' "$1"; }
wrk -t 1 -c "$conns" -d "${secs}s" --latency -s "$run/hundred.lua" "http://127.0.0.1:$port" >"$run/idle-wrk.txt"
start_bg "$run/slowloris.txt" -- timeout $(( secs + 30 )) python3 "$here/slowloris.py" 127.0.0.1 "$port" "$slow" $(( secs + 10 ))
loris=$STARTED
sleep 5   # let the slow connections open
wrk -t 1 -c "$conns" -d "${secs}s" --latency -s "$run/hundred.lua" "http://127.0.0.1:$port" >"$run/loaded-wrk.txt"
wait "$loris" || true
echo "idle:  p99 $(p99 "$run/idle-wrk.txt"), $(grep Requests/sec "$run/idle-wrk.txt")"
echo "loris: p99 $(p99 "$run/loaded-wrk.txt"), $(grep Requests/sec "$run/loaded-wrk.txt")"
grep -E "Socket errors|Non-2xx" "$run/loaded-wrk.txt" || echo "errors under slowloris: 0"
cat "$run/slowloris.txt"
