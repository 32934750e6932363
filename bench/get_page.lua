-- wrk script of the read cases (bench/run.py): every request is the same GET,
-- one page of a listing read by one caller. scope: a district coordinator
-- reads GET /v1/accounts?limit=50 in a city of thousands of organisations and
-- 100,000 wallets; leaderboard: an admin or a coordinator reads a page of
-- GET /v1/leaderboards. done() prints "BENCH_RESULT {json}" as transfers.lua
-- does; wrk counts answers >= 400 itself.
--
-- Parameters come from the environment (set by run.py):
--   TIMEBANK_BENCH_PATH   the path and query read, e.g. /v1/accounts?limit=50
--   TIMEBANK_BENCH_TOKEN  file holding the caller's access token

local function env(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error("environment variable " .. name .. " is not set")
  end
  return value
end

function init(args)
  local token
  for line in io.lines(env("TIMEBANK_BENCH_TOKEN")) do
    token = token or line
  end
  path = env("TIMEBANK_BENCH_PATH")
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,'
      .. '"write":%d,"timeout":%d,"status":%d,'
      .. '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
    e.status, latency:percentile(50), latency:percentile(99), latency.max))
end
