-- GCRA (generic cell rate algorithm): one key per (route class, client) holding the
-- "theoretical arrival time" (TAT) in milliseconds of Redis server time.
-- KEYS[1]  the bucket key
-- ARGV[1]  limit: requests allowed per window (also the burst size)
-- ARGV[2]  window in milliseconds
-- ARGV[3]  cost of this request (1 for a normal request)
-- Returns {allowed (0/1), remaining, retry_after_ms, reset_ms}.
-- Atomic because Redis runs a script to completion; the clock is Redis' own, so every API
-- process agrees. Exact for a burst: L requests arriving together are allowed, the L+1st is not;
-- over time the budget refills continuously at limit/window.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local interval = window / limit

-- Milliseconds since 2023-11-14 (a recent epoch keeps the doubles' rounding far below 1 ms).
local t = redis.call('TIME')
local now = (tonumber(t[1]) - 1700000000) * 1000 + tonumber(t[2]) / 1000
-- Float slack for the comparison: far below one interval as long as window/limit >= 1 ms.
local eps = 0.001

local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local new_tat = tat + interval * cost
local allow_at = new_tat - window
if allow_at > now + eps then
  local remaining = math.floor((now + window - tat) / interval + eps)
  if remaining < 0 then remaining = 0 end
  return {0, remaining, math.ceil(allow_at - now), math.ceil(tat - now)}
end
local ttl = math.ceil(new_tat - now)
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', ttl)
return {1, math.floor((now + window - new_tat) / interval + eps), 0, ttl}
