-- The mixed workload over the seeded events (bench/api/seed.sql: one event every 5 minutes from
-- 2021-01-01T00:00Z for about 347 days, each lasting 1 to 6 hours, 95% searchable):
--   60% narrow   a 1-6 h window starting on a quarter hour ("tonight"): 0-40 events, 0-9 KB
--   20% day      24 h from a whole hour: about 230 events, about 50 KB
--    5% week     7 days from a midnight: about 1,850 events, about 390 KB
--    5% open     one bound only: starts_at in the last day of the data, or ends_at in the first
--   10% invalid  an unparsable value, starts_at after ends_at, or a repeated parameter (400)
-- 2,000 distinct paths drawn uniformly per request, against a response cache of 512 entries, so
-- about a quarter of the valid searches are cache hits and the rest are rendered.
dofile(os.getenv("BENCH_API_DIR") .. "/report.lua")

local paths = {}
-- The seeded events' start range: bench/api/seed.sql's by default; bench/snapshot/run.sh sets
-- MIX_FIRST (epoch seconds, a UTC midnight) and MIX_DAYS for its own, larger seed.
local base = tonumber(os.getenv("MIX_FIRST") or "") or 1609459200  -- 2021-01-01T00:00:00Z
local span = (tonumber(os.getenv("MIX_DAYS") or "") or 100000 * 300 / 86400) * 86400
local hour = 3600
local day = 86400

local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end
local function range(s, e) return "/search?starts_at=" .. iso(s) .. "&ends_at=" .. iso(e) end
local function aligned(step) return base + math.random(0, math.floor((span - 8 * day) / step)) * step end

math.randomseed(20211122)
for i = 1, 2000 do
  local r = math.random()
  local path
  if r < 0.60 then
    local s = aligned(900)
    path = range(s, s + math.random(1, 6) * hour)
  elseif r < 0.80 then
    local s = aligned(hour)
    path = range(s, s + day)
  elseif r < 0.85 then
    local s = aligned(day)
    path = range(s, s + 7 * day)
  elseif r < 0.90 then
    if math.random() < 0.5 then
      path = "/search?starts_at=" .. iso(base + span - math.random(1, 24) * hour)
    else
      path = "/search?ends_at=" .. iso(base + math.random(1, 24) * hour)
    end
  else
    local s = aligned(900)
    local k = math.random(3)
    if k == 1 then path = "/search?starts_at=not-a-date"
    elseif k == 2 then path = range(s + hour, s)
    else path = "/search?ends_at=" .. iso(s) .. "&ends_at=" .. iso(s) end
  end
  paths[i] = path
end

-- The requests are formatted once, in init (after wrk has set the Host header): formatting one per
-- request cost wrk, which shares the CPUs with the server, a string build in Lua every time.
-- With MIX_PATHS_OUT set, the paths are also written there, one a line (run.sh records their
-- answers for the ceiling).
local requests = {}
function init(args)
  for i, path in ipairs(paths) do requests[i] = wrk.format("GET", path) end
  local out = os.getenv("MIX_PATHS_OUT")
  if out then
    local f = assert(io.open(out, "w"))
    for _, path in ipairs(paths) do f:write(path, "\n") end
    f:close()
  end
end

request = function()
  return requests[math.random(#requests)]
end
