-- A mix over the seeded year (bench/api/seed.sql): 50% narrow (1 h), 25% wide (1-7 days), 10%
-- open-ended (one bound, near the end of the data), 15% invalid (bad value, reversed, repeated).
-- 2,000 distinct paths, drawn at random per request, so the response cache is only partly warm.
dofile(os.getenv("BENCH_API_DIR") .. "/report.lua")

local paths = {}
local base = 1609459200          -- 2021-01-01T00:00:00Z
local span = 100000 * 300        -- the seeded events' start range, seconds

local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

math.randomseed(20211122)
for i = 1, 2000 do
  local r = math.random()
  local s = base + math.random(0, span)
  local path
  if r < 0.50 then
    path = "/search?starts_at=" .. iso(s) .. "&ends_at=" .. iso(s + 3600)
  elseif r < 0.75 then
    path = "/search?starts_at=" .. iso(s) .. "&ends_at=" .. iso(s + math.random(86400, 7 * 86400))
  elseif r < 0.85 then
    if math.random() < 0.5 then
      path = "/search?starts_at=" .. iso(base + span - math.random(3600, 86400))
    else
      path = "/search?ends_at=" .. iso(base + math.random(3600, 86400))
    end
  else
    local k = math.random(3)
    if k == 1 then path = "/search?starts_at=not-a-date"
    elseif k == 2 then path = "/search?starts_at=" .. iso(s + 3600) .. "&ends_at=" .. iso(s)
    else path = "/search?ends_at=" .. iso(s) .. "&ends_at=" .. iso(s) end
  end
  paths[i] = path
end

request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
