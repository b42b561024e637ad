-- wrk script of S4: a log-in storm. POSTs {"username", "password"} to the URL, rotating over
-- seeded users so no user is locked out (all have the right password):
--   BENCH_USER_FIRST, BENCH_USER_COUNT  users user<FIRST, 7 digits> ... (default 3, 1000)
--   BENCH_PASSWORD                      their password (default bench-password)
-- Run with -t1. Counts every status in response() and prints one JSON line: the rate of 201s,
-- the counts of 201/429/503/other statuses, latency percentiles and max (ms), socket errors.
local first = tonumber(os.getenv("BENCH_USER_FIRST") or "3")
local count = tonumber(os.getenv("BENCH_USER_COUNT") or "1000")
local password = os.getenv("BENCH_PASSWORD") or "bench-password"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local threads = {}
setup = function(thread)
  threads[#threads + 1] = thread
end

local next_user = 0
request = function()
  local n = first + (next_user % count)
  next_user = next_user + 1
  return wrk.format("POST", nil, nil,
    string.format('{"username":"user%07d","password":"%s"}', n, password))
end

created, too_many, unavailable, other = 0, 0, 0, 0
other_status = 0
response = function(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 429 then
    too_many = too_many + 1
  elseif status == 503 then
    unavailable = unavailable + 1
  else
    other = other + 1
    other_status = status
  end
end

done = function(summary, latency, requests)
  local c = { created = 0, too_many = 0, unavailable = 0, other = 0, other_status = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(c) do
      if name == "other_status" then
        c[name] = math.max(c[name], thread:get(name) or 0)
      else
        c[name] = c[name] + (thread:get(name) or 0)
      end
    end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.2f,"created_per_second":%.2f,"created":%d,' ..
    '"status_429":%d,"status_503":%d,"other":%d,"other_status":%d,"p50_ms":%.1f,"p99_ms":%.1f,' ..
    '"max_ms":%.1f,"errors":%d,"timeouts":%d}\n',
    summary.requests, seconds, summary.requests / seconds, c.created / seconds, c.created,
    c.too_many, c.unavailable, c.other, c.other_status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.timeout))
end
