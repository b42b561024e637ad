-- wrk script of S4's /healthz probe: bench/wrk/report.lua, with a pause of BENCH_DELAY_MS
-- (default 10) before each request, so one connection probes at most ~100 times a second
-- instead of competing for the CPU it measures.
dofile("bench/wrk/report.lua")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "10")
delay = function()
  return pause
end
