-- wrk script: every connection waits THINK_MS (default 1) milliseconds after each response
-- before its next request, so the offered load is the same for every server that keeps up
-- (64 connections x ~1 request per (1 ms + latency)). bench/latency.sh uses it to compare
-- latency at equal load, which wrk's closed loop cannot: there the faster server is offered
-- more requests and a saturated wrk's own queueing shows up in its percentiles.
local think = tonumber(os.getenv("THINK_MS") or "1")
function delay()
  return think
end
