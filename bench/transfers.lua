-- wrk script used by bench/run.py: each request is POST /v1/transfers moving
-- 0.01 points, with its own Idempotency-Key.
--
-- Parameters come from the environment (set by run.py):
--   TIMEBANK_BENCH_CASE      "spread": random volunteer -> another random volunteer
--                            "hot":    issuance account -> random volunteer
--   TIMEBANK_BENCH_ACCOUNTS  file with one volunteer account id per line
--   TIMEBANK_BENCH_TOKEN     file holding the bearer access token
--   TIMEBANK_BENCH_ISSUANCE  issuance account id (hot case)
--   TIMEBANK_BENCH_RUN_ID    prefix that makes idempotency keys unique per run
--
-- done() prints one line "BENCH_RESULT {json}" that run.py parses.

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

local function json_escape(text)
  text = text:gsub("%c", " ")
  text = text:gsub('[\\"]', "\\%0")
  return text
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
  if case ~= "spread" and case ~= "hot" then
    error("TIMEBANK_BENCH_CASE must be spread or hot, not " .. case)
  end
  accounts = read_lines(env("TIMEBANK_BENCH_ACCOUNTS"))
  n = #accounts
  if n < 2 then
    error("need at least 2 accounts, got " .. n)
  end
  issuance = env("TIMEBANK_BENCH_ISSUANCE")
  key_prefix = env("TIMEBANK_BENCH_RUN_ID") .. "-" .. case .. "-t" .. id .. "-"
  counter = 0
  non2xx = 0
  first_error = ""
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

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_error == "" then
      first_error = status .. " " .. json_escape(string.sub(body or "", 1, 300))
    end
  end
end

function done(summary, latency, requests)
  local non2xx_total, sample = 0, ""
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + (tonumber(thread:get("non2xx")) or 0)
    local err = thread:get("first_error")
    if sample == "" and type(err) == "string" then
      sample = err
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,'
      .. '"write":%d,"timeout":%d,"status":%d,"non2xx":%d,'
      .. '"p50_us":%d,"p99_us":%d,"max_us":%d,"first_error":"%s"}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
    e.status, non2xx_total, latency:percentile(50), latency:percentile(99),
    latency.max, sample))
end
