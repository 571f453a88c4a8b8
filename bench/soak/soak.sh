#!/usr/bin/env bash
# Soak: a working set 10x the cache capacity, requested uniformly at random
# for SECS seconds; peak RSS must stay <= 1.10 x capacity + 64 MiB, and the
# hit ratio is reported. Bounded: wrk runs for SECS, the bucket is COUNT
# files. Knobs: CAPACITY_MIB (default 256), OBJECT_KIB (64), SECS (300),
# CONNS (64), BIN, PORT, BENCH_OUT.
source "$(dirname "$0")/common.sh"
cap_mib=${CAPACITY_MIB:-256}
obj_kib=${OBJECT_KIB:-64}
secs=${SECS:-300}
conns=${CONNS:-64}
count=$(( cap_mib * 1024 * 10 / obj_kib ))
make_bucket "$run/bucket" "$count" $(( obj_kib * 1024 ))
start_edge "${cap_mib}MiB" "$run/bucket"
idle=$(kib "$edge" VmRSS)

cat >"$run/random.lua" <<LUA
local count = $count
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init() hits = 0; total = 0; math.randomseed(os.time() + math.floor(os.clock() * 1e6)) end
function request() return wrk.format("GET", "/o/" .. math.random(0, count - 1) .. ".bin") end
function response(status, headers, body)
  total = total + 1
  local x = headers["X-Cache"] or headers["x-cache"] or ""
  if string.sub(x, 1, 3) == "Hit" then hits = hits + 1 end
end
function done(summary, latency, requests)
  local h, t = 0, 0
  for _, th in ipairs(threads) do h = h + th:get("hits"); t = t + th:get("total") end
  io.write(string.format("hit ratio %.3f (%d of %d)\n", t > 0 and h / t or 0, h, t))
end
LUA
timeout $(( secs + 30 )) wrk -t 2 -c "$conns" -d "${secs}s" --latency -s "$run/random.lua" "http://127.0.0.1:$port" | tee "$run/soak-wrk.txt"
peak=$(kib "$edge" VmHWM)
limit=$(( cap_mib * 1024 * 110 / 100 + 64 * 1024 ))
echo "objects $count x ${obj_kib} KiB = $(( count * obj_kib / 1024 )) MiB working set, capacity ${cap_mib} MiB"
echo "RSS idle ${idle} KiB, peak ${peak} KiB, limit ${limit} KiB (1.10 x capacity + 64 MiB): $([ "$peak" -le "$limit" ] && echo PASS || echo FAIL)"
