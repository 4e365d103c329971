-- wrk script: POSTs the file named by BENCH_BODY with the media type BENCH_TYPE and
-- prints one machine-readable RESULT line. With BENCH_DELAY_MS each connection waits
-- that long between requests, which holds the offered load below the peak.
local file = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = os.getenv("BENCH_TYPE") or "application/json"

local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pause > 0 then
  function delay()
    return pause
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  local ok = summary.requests - errors.status
  io.write(string.format(
    "RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f requests=%d non2xx=%d socket_errors=%d\n",
    ok / seconds,
    latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000,
    summary.requests,
    errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
