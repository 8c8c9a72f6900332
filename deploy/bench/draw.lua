-- wrk script: POST /api/v1/raffle/activity/draw for a random user of USERS
-- (default 10 000) named PREFIX<n> (default "wrk-"), on activity ACTIVITY
-- (default 100301). The users need quota first, for instance:
--
--   bigmarket loadtest --url http://127.0.0.1:8091 --admin-token "$TOKEN" \
--     --users 10000 --prefix wrk- --requests 1 --check-stock=false --delivery-wait=-1s
--   wrk -t2 -c64 -d20s --latency -s deploy/bench/draw.lua http://127.0.0.1:8091
--
-- The summary counts answers by envelope code: a draw answered with HTTP 200
-- but a code other than 0000 (quota, rate limit, circuit) is not a success.

local users = tonumber(os.getenv("USERS") or "10000")
local prefix = os.getenv("PREFIX") or "wrk-"
local activity = tonumber(os.getenv("ACTIVITY") or "100301")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  ok, other = 0, 0
  -- Every user's request is formatted once: formatting one per request costs
  -- the generator more CPU than the server spends on some draws.
  reqs = {}
  for i = 0, users - 1 do
    local body = string.format('{"userId":"%s%d","activityId":%d}', prefix, i, activity)
    reqs[i + 1] = wrk.format("POST", "/api/v1/raffle/activity/draw", {["Content-Type"] = "application/json"}, body)
  end
end

function request()
  return reqs[math.random(1, users)]
end

function response(status, headers, body)
  if status == 200 and body:find('"code":"0000"', 1, true) then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local good, bad = 0, 0
  for _, t in ipairs(threads) do
    good = good + t:get("ok")
    bad = bad + t:get("other")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("draws answered 0000: %d (%.1f/s), other answers: %d\n", good, good / secs, bad))
  io.write(string.format("latency p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
