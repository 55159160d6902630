-- Shared by the wrk scripts: one machine-readable line per run. `errors` are socket errors and
-- timeouts; `non2xx` are answers with a 4xx/5xx status (the mix's invalid queries get 400 on purpose).
function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d errors=%d non2xx=%d req_per_s=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f\n",
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end
