-- wrk script for the REST channel: each request is the first message of a
-- new resident (unique sender and Idempotency-Key), cycling through
-- messages.txt (English and Chinese). Counts every non-200 answer.
local messages = {}
for line in io.lines(os.getenv("MESSAGES") or "scripts/load/messages.txt") do
  if #line > 0 then table.insert(messages, line) end
end
local token = os.getenv("CONCIERGE_REST_TOKEN") or "load-test-token"
local run = os.getenv("RUN_ID") or tostring(os.time())

local threads = {}
function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  failures = 0
end

local function json_string(text)
  return '"' .. text:gsub('\\', '\\\\'):gsub('"', '\\"') .. '"'
end

function request()
  counter = counter + 1
  local key = run .. "-" .. id .. "-" .. counter
  local body = '{"sender":' .. json_string("load-" .. key) .. ',"message":'
    .. json_string(messages[(counter % #messages) + 1]) .. '}'
  return wrk.format("POST", "/webhooks/rest/webhook", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = key,
  }, body)
end

function response(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do failed = failed + thread:get("failures") end
  io.write(string.format("RESULT requests=%d rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f non200=%d socket_errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, failed,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
