-- wrk script shared by every HTTP scenario of bench/run.
--   BENCH_TOKEN  a bearer token: sent as `Authorization: Bearer <token>` when set
--   BENCH_PATHS  space-separated paths, requested in turn (default: the URL's path)
-- At the end it prints one JSON line: throughput, latency percentiles (ms), errors, and
-- `non2xx` (responses outside 2xx/3xx), which the caller checks against what it expects.
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

-- Formatted in init, once wrk has set the Host header.
local requests_ = {}
init = function(args)
  local paths = os.getenv("BENCH_PATHS")
  if paths and paths ~= "" then
    for path in string.gmatch(paths, "%S+") do
      requests_[#requests_ + 1] = wrk.format("GET", path)
    end
  end
end

local counter = 0
request = function()
  if #requests_ == 0 then
    return wrk.format()
  end
  counter = counter + 1
  return requests_[(counter % #requests_) + 1]
end

done = function(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,' ..
    '"max_ms":%.3f,"errors":%d,"non2xx":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout, e.status))
end
