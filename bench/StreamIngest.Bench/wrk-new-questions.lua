-- wrk script for `GET /v1/search` with a question never asked before on every request (the query-vector cache
-- cannot answer it): the same questions `bench api` asks in its "unique" phase. See README ("api" under the bench commands) for the run.
local topics = {
  "flooding downtown", "power outage", "road closures", "wildfire smoke", "earthquake damage", "evacuation orders",
  "transit strike", "stock market selloff", "$NVDA earnings", "election results", "storm warning", "water shortage",
  "bridge collapse", "hospital capacity", "school closures", "volunteers needed", "donations", "missing people",
  "heat wave", "air quality",
}
local counter = 0
local prefix = os.getenv("WRK_PREFIX") or "n"

local function escape(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

request = function()
  counter = counter + 1
  local q = "what is happening with " .. topics[(counter % #topics) + 1] .. " " .. prefix .. "-" .. counter
  return wrk.format("GET", "/v1/search?mode=hybrid&k=10&q=" .. escape(q))
end
