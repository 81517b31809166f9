-- wrk script: POST /v1/claims, every request a new node claiming a slot of one scope.
-- Environment: PUBLISH_TOKEN. Prints the count of each status at the end ("STATUS <code> <n>").
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
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("PUBLISH_TOKEN")
end

function request()
  counter = counter + 1
  local body = string.format('{"app":"bench","version":"1.0.0","scope":"wave-1","node":"n-%s-%d-%d"}', os.getenv("RUN_ID") or "0", tid, counter)
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
