-- wrk script of tests/benches/server_bench.rs: POSTs a conversion event per request.
--
--   wrk -t2 -c16 -d10s -H 'Authorization: Bearer KEY' -s event.lua URL -- MODE PATH RUN
--
-- MODE: `keyed` sends a fresh Idempotency-Key per request (as `openpartner events import`
-- does), `unkeyed` none. PATH: the request path (/attribution/events, or / for the
-- hello-world server). RUN: a tag that keeps keys and user ids distinct between runs.
-- Every request carries a distinct anonymous userId, so each event is stored once
-- (`no_identity`); the body has the fields the CLI sends.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local counter = 0
local mode, path, run

function init(args)
  mode = args[1] or "unkeyed"
  path = args[2] or "/attribution/events"
  run = args[3] or tostring(os.time())
  if mode ~= "keyed" and mode ~= "unkeyed" then
    error("MODE must be keyed or unkeyed, not " .. mode)
  end
end

function request()
  counter = counter + 1
  local id = run .. "-" .. tid .. "-" .. counter
  local headers = {}
  for k, v in pairs(wrk.headers) do
    headers[k] = v
  end
  headers["Content-Type"] = "application/json"
  if mode == "keyed" then
    headers["Idempotency-Key"] = "bench:" .. id
  end
  local body = '{"userId":"bench-' .. id .. '","type":"sale","value":12.34,"currency":"EUR"}'
  return wrk.format("POST", path, headers, body)
end
