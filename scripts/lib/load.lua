-- wrk script of scripts/load.sh: one request kind per wrk process.
--
--   wrk -t1 -cN -d60s -H 'Authorization: Bearer KEY' -s load.lua URL -- KIND OUT RUN N [IDS]
--
-- KIND is one of
--   partners-list      GET  /partners?limit=50                      (list)
--   commissions-list   GET  /commissions?limit=100[&status=…]       (list; status varies)
--   dashboard          GET  /partners/:id/dashboard                 (report; random partner)
--   timeseries         GET  /partners/:id/timeseries?bucket=week    (report; random partner)
--   events             POST /attribution/events                     (write)
--   partners-create    POST /partners                               (write)
--   hello              GET  /   (the hello-world reference server of server_bench.rs)
-- Every POST carries a fresh Idempotency-Key (as the CLI's imports send) and a body of its
-- own: events go to a random identified user of the `--seed demo` data (user_00000 …
-- user_11999, so some are attributed and write commissions) one time in four, else to a
-- new anonymous user; partners get a new email each.
-- OUT: file that done() appends one JSON line to: the kind, wrk's counts, the non-2xx
-- count (counted here, per response: wrk itself counts only status > 399), the first
-- non-2xx answer, and the latency histogram as [microseconds, count] pairs, so that
-- load-summary.py can merge the processes' histograms exactly.
-- RUN: a tag that keeps keys, users and emails distinct between runs. N: the -c value (wrk
-- does not tell the script), echoed in the output line.
-- IDS: a file of partner ids, one per line (dashboard, timeseries).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- Globals of each thread's Lua state, read back by done() (which runs in wrk's main
-- state, where init() never ran) through thread:get().
kind, out_path, connections = nil, nil, 0
non2xx = 0
first_bad = ""
local run, ids
local counter = 0

local function read_ids(path)
  local out = {}
  local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  for line in f:lines() do
    if line ~= "" then
      table.insert(out, line)
    end
  end
  f:close()
  assert(#out > 0, "no partner ids in " .. path)
  return out
end

function init(args)
  kind = args[1]
  out_path = args[2]
  run = args[3] or tostring(os.time())
  connections = tonumber(args[4]) or 0
  if kind == "dashboard" or kind == "timeseries" then
    ids = read_ids(args[5])
  end
  math.randomseed(os.time() + tid * 7919)
end

local statuses = { "", "&status=accrued", "&status=approved", "&status=paid" }

local function post(path, body)
  counter = counter + 1
  local headers = {}
  for k, v in pairs(wrk.headers) do
    headers[k] = v
  end
  headers["Content-Type"] = "application/json"
  headers["Idempotency-Key"] = "load:" .. run .. ":" .. kind .. ":" .. tid .. ":" .. counter
  return wrk.format("POST", path, headers, body)
end

function request()
  if kind == "hello" then
    return wrk.format("GET", "/")
  elseif kind == "partners-list" then
    return wrk.format("GET", "/partners?limit=50")
  elseif kind == "commissions-list" then
    return wrk.format("GET", "/commissions?limit=100" .. statuses[math.random(#statuses)])
  elseif kind == "dashboard" then
    return wrk.format("GET", "/partners/" .. ids[math.random(#ids)] .. "/dashboard")
  elseif kind == "timeseries" then
    return wrk.format("GET", "/partners/" .. ids[math.random(#ids)] .. "/timeseries?bucket=week")
  elseif kind == "events" then
    local user
    if math.random(4) == 1 then
      user = string.format("user_%05d", math.random(0, 11999))
    else
      user = "load-" .. run .. "-" .. tid .. "-" .. (counter + 1)
    end
    local cents = math.random(100, 99999)
    local body = string.format(
      '{"userId":"%s","type":"sale","value":%d.%02d,"currency":"%s"}',
      user, math.floor(cents / 100), cents % 100, (cents % 7 == 0) and "EUR" or "USD")
    return post("/attribution/events", body)
  elseif kind == "partners-create" then
    local n = counter + 1
    local body = string.format(
      '{"email":"load-%s-%d-%d@load.example.com","name":"Load %d %d","sendInvite":false}',
      run, tid, n, tid, n)
    return post("/partners", body)
  end
  error("unknown KIND " .. tostring(kind))
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then
      first_bad = status .. " " .. string.sub(body or "", 1, 200)
    end
  end
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local bad, sample = 0, ""
  local first = threads[1]
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    local s = t:get("first_bad") or ""
    if sample == "" then
      sample = s
    end
  end
  local hist = {}
  for i = 1, #latency do
    local value, count = latency(i)
    table.insert(hist, string.format("[%d,%d]", value, count))
  end
  local e = summary.errors
  local line = string.format(
    '{"kind":%s,"connections":%d,"durationUs":%d,"requests":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"non2xx":%d,"firstNon2xx":%s,"histogram":[%s]}\n',
    json_string(first:get("kind")), first:get("connections"), summary.duration,
    summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    bad, json_string(sample), table.concat(hist, ","))
  local out = assert(io.open(first:get("out_path"), "a"))
  out:write(line)
  out:close()
end
