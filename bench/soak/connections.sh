#!/usr/bin/env bash
# 10,000 concurrent keep-alive connections making steady requests for
# SECS seconds (wrk holds every connection open and reuses it): errors
# and RSS reported. Raises the fd limit for itself and its children.
# Knobs: CONNS (10000), SECS (60), BIN, PORT, BENCH_OUT.
source "$(dirname "$0")/common.sh"
conns=${CONNS:-10000}
secs=${SECS:-60}
ulimit -n "$(( conns * 2 + 1024 > $(ulimit -Hn) ? $(ulimit -Hn) : conns * 2 + 1024 ))"
make_bucket "$run/bucket-small" 100 1024
start_edge "64MiB" "$run/bucket-small"
idle=$(kib "$edge" VmRSS)
# Handshakes the kernel dropped because the accept queue was full
# (system-wide counter; loopback runs on an otherwise quiet machine).
overflows() { awk '/^TcpExt:/ { if (!n) { for (i = 1; i <= NF; i++) if ($i == "ListenOverflows") c = i; n = 1 } else print $c }' /proc/net/netstat; }
overflows_before=$(overflows)
cat >"$run/hundred.lua" <<'LUA'
local i = 0
function request() i = (i + 1) % 100; return wrk.format("GET", "/o/" .. i .. ".bin") end
LUA
timeout $(( secs + 60 )) wrk -t 2 -c "$conns" -d "${secs}s" --timeout 10s --latency -s "$run/hundred.lua" "http://127.0.0.1:$port" | tee "$run/connections-wrk.txt"
open=$(ls /proc/"$edge"/fd | wc -l)
echo "listen overflows during the run: $(( $(overflows) - overflows_before ))"
echo "RSS idle ${idle} KiB, peak $(kib "$edge" VmHWM) KiB; fds open at the end: $open"
grep -E "Socket errors|Non-2xx" "$run/connections-wrk.txt" || echo "errors: 0"
