-- The mixed search workload of bench/api/mix.lua (same shares and kinds of range), spread over the
-- snapshot benchmark's seeded range instead of bench/api's one year: SNAPSHOT_FIRST (epoch
-- seconds, UTC midnight) and SNAPSHOT_DAYS come from run.sh, which seeds events starting on a
-- minute within those days (seed.sql). Answers grow with EVENTS: a day holds about
-- EVENTS / SNAPSHOT_DAYS * 0.95 events (~870 at 1 M over 3 years, ~190 KB).
--   60% narrow   a 1-6 h window starting on a quarter hour ("tonight")
--   20% day      24 h from a whole hour
--    5% week     7 days from a midnight
--    5% open     one bound only: starts_at in the last day of the data, or ends_at in the first
--   10% invalid  an unparsable value, starts_at after ends_at, or a repeated parameter (400)
-- 2,000 distinct paths drawn uniformly per request, formatted once in init. With MIX_PATHS_OUT
-- set, the paths are also written there, one a line.
dofile(os.getenv("BENCH_API_DIR") .. "/report.lua")

local paths = {}
local base = assert(tonumber(os.getenv("SNAPSHOT_FIRST")), "SNAPSHOT_FIRST is not set")
local span = assert(tonumber(os.getenv("SNAPSHOT_DAYS")), "SNAPSHOT_DAYS is not set") * 86400
local hour = 3600
local day = 86400

local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end
local function range(s, e) return "/search?starts_at=" .. iso(s) .. "&ends_at=" .. iso(e) end
local function aligned(step) return base + math.random(0, math.floor((span - 8 * day) / step)) * step end

math.randomseed(20261126)
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
