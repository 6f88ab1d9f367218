-- wrk script for the failure scenarios: counts responses per wall-clock second and status, and
-- prints them with the summary line when the run ends ("WRKSTATUS <epoch-second> <status> <n>").
-- Socket errors (connect, read, write, timeout) have no per-response hook; they are in the summary.
local threads = {}

setup = function(thread)
  table.insert(threads, thread)
end

init = function(args)
  counts = {}
end

response = function(status, headers, body)
  local key = os.time() .. " " .. status
  counts[key] = (counts[key] or 0) + 1
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "WRKRESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d"
      .. " connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(90)),
    math.floor(latency:percentile(99)), math.floor(latency.max),
    e.connect, e.read, e.write, e.status, e.timeout))
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("counts")) do
      io.write("WRKSTATUS ", key, " ", n, "\n")
    end
  end
end
