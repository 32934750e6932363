-- wrk script used by bench/run.py: each request is POST /v1/transfers moving
-- 0.01 points, with its own Idempotency-Key.
--
-- Parameters come from the environment (set by run.py):
--   TIMEBANK_BENCH_CASE      "spread":  random volunteer -> another random volunteer
--                            "hot":     issuance account -> random volunteer
--                            "few":     issuance account -> one of the first 20 volunteers
--                            "counter": random volunteer -> the one partner account
--   TIMEBANK_BENCH_ACCOUNTS  file with one volunteer account id per line
--   TIMEBANK_BENCH_TOKEN     file holding the bearer access token
--   TIMEBANK_BENCH_ISSUANCE  issuance account id (hot and few cases)
--   TIMEBANK_BENCH_PARTNER   partner account id (counter case)
--   TIMEBANK_BENCH_RUN_ID    prefix that makes idempotency keys unique per run
--
-- done() prints one line "BENCH_RESULT {json}" that run.py parses. There is no
-- response() hook: defining one makes wrk hand every answer's headers and body
-- to Lua (about 4 of wrk's 29 us of CPU per request here). wrk counts answers
-- with status >= 400 itself (`status`); the server logs each one with its code.

local BODY = '{"kind":"adjustment","postings":['
  .. '{"account_id":"%s","direction":"debit","amount":"0.01"},'
  .. '{"account_id":"%s","direction":"credit","amount":"0.01"}]}'

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

-- Runs in the main Lua state, once per wrk thread, before that thread's init().
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("id", #threads)
end

-- Runs in each thread's own Lua state.
function init(args)
  id = id or 1
  case = env("TIMEBANK_BENCH_CASE")
  if case ~= "spread" and case ~= "hot" and case ~= "few" and case ~= "counter" then
    error("TIMEBANK_BENCH_CASE must be spread, hot, few or counter, not " .. case)
  end
  accounts = read_lines(env("TIMEBANK_BENCH_ACCOUNTS"))
  n = #accounts
  if n < 2 then
    error("need at least 2 accounts, got " .. n)
  end
  issuance = env("TIMEBANK_BENCH_ISSUANCE")
  partner = env("TIMEBANK_BENCH_PARTNER")
  few = math.min(n, 20)
  key_prefix = env("TIMEBANK_BENCH_RUN_ID") .. "-" .. case .. "-t" .. id .. "-"
  counter = 0
  math.randomseed(os.time() + id * 7919)

  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. read_lines(env("TIMEBANK_BENCH_TOKEN"))[1]
end

function request()
  counter = counter + 1
  local from, to
  if case == "hot" then
    from = issuance
    to = accounts[math.random(n)]
  elseif case == "few" then
    from = issuance
    to = accounts[math.random(few)]
  elseif case == "counter" then
    from = accounts[math.random(n)]
    to = partner
  else
    local i = math.random(n)
    local j = math.random(n - 1)
    if j >= i then
      j = j + 1
    end
    from, to = accounts[i], accounts[j]
  end
  wrk.headers["Idempotency-Key"] = key_prefix .. counter
  return wrk.format("POST", "/v1/transfers", nil, string.format(BODY, from, to))
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
