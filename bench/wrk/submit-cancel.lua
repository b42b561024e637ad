-- wrk script of S5: submits certificate requests and cancels each one, as the user of
-- BENCH_TOKEN. Each POST /api/v3/myrequests sends the next CSR of BENCH_CSRS (a file of CSRs,
-- one JSON string a line, cycled); its response's id is queued, and the next request of any
-- connection cancels a queued id (POST /api/v3/myrequests/{id}/cancel) before submitting more,
-- so every cancel hits a distinct pending request. Run with -t1 (one Lua state sees every id).
-- Prints one JSON line: submit+cancel pairs per second, counts of 201 (submitted), 200
-- (cancelled), 5xx and other statuses (with one of their bodies), latencies (ms), socket errors.
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
wrk.headers["Content-Type"] = "application/json"

local threads = {}
setup = function(thread)
  threads[#threads + 1] = thread
end

local bodies = {}
init = function(args)
  local file = assert(io.open(os.getenv("BENCH_CSRS"), "r"))
  for line in file:lines() do
    bodies[#bodies + 1] =
      '{"type":"certificate","reason":"bench S5 submit","csr":' .. line .. '}'
  end
  file:close()
  assert(#bodies > 0, "no CSRs in BENCH_CSRS")
end

local queue, head, tail = {}, 1, 0
local next_csr = 0
request = function()
  if head <= tail then
    local id = queue[head]
    queue[head] = nil
    head = head + 1
    return wrk.format("POST", "/api/v3/myrequests/" .. id .. "/cancel")
  end
  next_csr = next_csr + 1
  return wrk.format("POST", "/api/v3/myrequests", nil, bodies[(next_csr - 1) % #bodies + 1])
end

submitted, cancelled, server_errors, other, no_id = 0, 0, 0, 0, 0
sample = ""
response = function(status, headers, body)
  if status == 201 then
    submitted = submitted + 1
    local id = string.match(body, '"id":(%d+)')
    if id then
      tail = tail + 1
      queue[tail] = id
    else
      no_id = no_id + 1
    end
  elseif status == 200 then
    cancelled = cancelled + 1
  else
    if status >= 500 then
      server_errors = server_errors + 1
    else
      other = other + 1
    end
    if sample == "" then
      sample = status .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

done = function(summary, latency, requests)
  local c = { submitted = 0, cancelled = 0, server_errors = 0, other = 0, no_id = 0 }
  local first_sample = ""
  for _, thread in ipairs(threads) do
    for name, _ in pairs(c) do
      c[name] = c[name] + (thread:get(name) or 0)
    end
    if first_sample == "" then
      first_sample = thread:get("sample") or ""
    end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"rps":%.1f,"pairs_per_second":%.1f,"submitted":%d,' ..
    '"cancelled":%d,"server_errors":%d,"other":%d,"no_id":%d,"p50_ms":%.3f,"p99_ms":%.3f,' ..
    '"max_ms":%.3f,"errors":%d,"sample":"%s"}\n',
    summary.requests, seconds, summary.requests / seconds, c.cancelled / seconds, c.submitted,
    c.cancelled, c.server_errors, c.other, c.no_id,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout,
    (string.gsub(first_sample, '[%c"\\]', " "))))
end
