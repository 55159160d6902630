-- Valid searches only (for the zero-errors run during an ingestion): 70% narrow (1-6 h), 25% a day,
-- 5% a week, over the seeded year; 2,000 distinct paths. Any non-2xx answer is an error here.
dofile(os.getenv("BENCH_API_DIR") .. "/report.lua")

local paths = {}
local base = 1609459200  -- 2021-01-01T00:00:00Z
local span = 347 * 86400
local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

math.randomseed(20261122)
for i = 1, 2000 do
  local r = math.random()
  local s = base + math.floor(math.random(0, span) / 900) * 900
  local length
  if r < 0.70 then length = math.random(1, 6) * 3600
  elseif r < 0.95 then length = 86400
  else length = 7 * 86400 end
  paths[i] = "/search?starts_at=" .. iso(s) .. "&ends_at=" .. iso(s + length)
end

request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
