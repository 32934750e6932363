-- wrk script used by bench/run.py for the "batch" case: each request is
-- POST /v1/service-records/batch with 500 records, as a coordinator's phone
-- syncs what it recorded offline. Every record has its own client id and its
-- own (volunteer, day), so no overlap or daily cap refuses any of them.
--
-- Parameters come from the environment (set by run.py):
--   TIMEBANK_BENCH_VOLUNTEERS  file with one volunteer id per line
--   TIMEBANK_BENCH_ACTIVITY    the activity recorded
--   TIMEBANK_BENCH_TOKEN       file holding a coordinator's access token
--   TIMEBANK_BENCH_THREADS     wrk's thread count
--   TIMEBANK_BENCH_UUID_PREFIX eight hex digits, unique per run
--
-- A batch answers 200 even when records in it are refused, so response()
-- counts every answer that is not 200 with "refused":0; done() reports them
-- as status errors. At a few dozen requests a second the hook costs nothing.

local RECORDS = 500
-- 2000-01-01T02:00:00Z: every record lies in the past.
local BASE = 946692000

local threads = {}

local function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error("environment variable " .. name .. " is not set")
  end
  return value
end

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then
      lines[#lines + 1] = line
    end
  end
  return lines
end

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("id", #threads)
end

function init(args)
  volunteers = read_lines(env("TIMEBANK_BENCH_VOLUNTEERS"))
  n = #volunteers
  activity = env("TIMEBANK_BENCH_ACTIVITY")
  nthreads = tonumber(env("TIMEBANK_BENCH_THREADS"))
  prefix = env("TIMEBANK_BENCH_UUID_PREFIX")
  counter = 0
  bad = 0
  first_bad = ""
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. read_lines(env("TIMEBANK_BENCH_TOKEN"))[1]
end

function request()
  local first = (counter * nthreads + (id - 1)) * RECORDS
  counter = counter + 1
  local parts = {}
  for j = 0, RECORDS - 1 do
    local r = first + j
    local volunteer = volunteers[(r % n) + 1]
    local day = math.floor(r / n)
    parts[#parts + 1] = string.format(
      '{"volunteer_id":"%s","activity_id":"%s","started_at":"%s","minutes":30,'
        .. '"client_id":"%s-0000-4000-8000-%012x"}',
      volunteer, activity, os.date("!%Y-%m-%dT%H:%M:%SZ", BASE + day * 86400), prefix, r)
  end
  return wrk.format("POST", "/v1/service-records/batch", nil,
    '{"records":[' .. table.concat(parts, ",") .. "]}")
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"refused":0', 1, true) then
    bad = bad + 1
    if first_bad == "" then
      first_bad = string.sub(body, 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local refused = 0
  for _, thread in ipairs(threads) do
    refused = refused + (thread:get("bad") or 0)
    local first = thread:get("first_bad")
    if first ~= nil and first ~= "" then
      io.stderr:write("first refused batch: " .. first .. "\n")
    end
  end
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,'
      .. '"write":%d,"timeout":%d,"status":%d,'
      .. '"p50_us":%d,"p99_us":%d,"max_us":%d,"records_per_request":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
    refused, latency:percentile(50), latency:percentile(99), latency.max, RECORDS))
end
