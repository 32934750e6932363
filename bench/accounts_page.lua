-- wrk script of the scope case (bench/run.py): a district coordinator reads
-- the first page of GET /v1/accounts in a city of thousands of organisations
-- and 100,000 wallets. TIMEBANK_BENCH_TOKEN is the coordinator's token file.
-- done() prints "BENCH_RESULT {json}" as transfers.lua does.

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
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  return wrk.format("GET", "/v1/accounts?limit=50")
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
