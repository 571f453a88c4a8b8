-- wrk: GET random 1 MiB ranges of a 256 MiB object.
math.randomseed(42)
local total = 256 * 1024 * 1024
local size = 1024 * 1024
request = function()
  local start = math.random(0, total - size - 1)
  wrk.headers["Range"] = string.format("bytes=%d-%d", start, start + size - 1)
  return wrk.format("GET", "/media/256m.bin")
end
