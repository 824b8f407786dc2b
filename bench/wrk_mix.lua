-- The query mix of bench/http.py for wrk: MIX_FILE holds one request per line, in order;
-- MIX_MODE "api" sends each line as a GET path, "raw" POSTs it as the body of
-- /<MIX_INDEX>/_msearch (NDJSON, its newlines written as tabs in the file). Both sides read
-- files written from the same queries, so they get the identical mix; each of wrk's threads
-- walks it from its own offset, cycling.
local mode = os.getenv("MIX_MODE")
local index = os.getenv("MIX_INDEX")
local file = os.getenv("MIX_FILE")
local threads = {}
local started = 0

function setup(thread)
  thread:set("id", started)
  started = started + 1
  table.insert(threads, thread)
end

function init(args)
  lines = {}
  for line in io.lines(file) do
    if #line > 0 then
      if mode == "raw" then line = line:gsub("\t", "\n") end
      lines[#lines + 1] = line
    end
  end
  -- two threads start half a mix apart, so they do not send the same query at once
  pos = (id * math.floor(#lines / 2)) % #lines
  non2xx = 0
  path = "/" .. (index or "") .. "/_msearch"
  json = { ["Content-Type"] = "application/x-ndjson" }
end

function request()
  pos = pos % #lines + 1
  if mode == "raw" then
    return wrk.format("POST", path, json, lines[pos])
  end
  return wrk.format("GET", lines[pos])
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    'MIX_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), bad,
    e.connect + e.read + e.write + e.timeout))
end
