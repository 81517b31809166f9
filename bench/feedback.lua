-- wrk script: POST /v1/feedback from one node. Like a real updater, which reports every state change of
-- an update event, each event gets REPORTS_PER_EVENT reports (sequence 0, 1, ...; default 4); the
-- first one of an event also creates the event's directory. REPORTS_PER_EVENT=1 is the worst case.
-- Environment: NODE_AUTH (the Authorization header value), NODE (the node id), RUN_ID.
local counter = 0
local thread_id = 0
statuses = {}
local threads = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = os.getenv("NODE_AUTH")
end

local per_event = tonumber(os.getenv("REPORTS_PER_EVENT") or "4")

function request()
  local event = math.floor(counter / per_event)
  local sequence = counter % per_event
  counter = counter + 1
  local body = string.format(
    '{"type":"feedback","eventId":"ev-%s-%d-%d","sequence":%d,"node":"%s","app":"bench","fromVersion":"1.0.0",' ..
    '"toVersion":"1.1.0","finalState":"END","outcome":"COMMITTED","steps":[' ..
    '{"state":"DOWNLOAD","startedAt":"2026-11-22T10:00:00Z","durationMillis":1200,"outcome":"OK"},' ..
    '{"state":"SWITCH","startedAt":"2026-11-22T10:00:02Z","durationMillis":12,"outcome":"OK"},' ..
    '{"state":"VERIFY","startedAt":"2026-11-22T10:00:03Z","durationMillis":5000,"outcome":"OK"}],' ..
    '"sentAt":"2026-11-22T10:00:09Z"}', os.getenv("RUN_ID") or "0", tid, event, sequence, os.getenv("NODE"))
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do
      total[code] = (total[code] or 0) + n
    end
  end
  for code, n in pairs(total) do
    io.write(string.format("STATUS %d %d\n", code, n))
  end
end
