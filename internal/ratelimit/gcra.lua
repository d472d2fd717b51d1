-- GCRA (generic cell rate algorithm) over every key of one decision, all or
-- nothing. A key holds the bucket's theoretical arrival time (TAT), in
-- microseconds: the bucket is full when TAT <= now, and holds
-- (burst*interval - (TAT - now)) / interval tokens otherwise.
--
-- KEYS: the buckets.
-- ARGV[1]: now in microseconds, or "" to read Redis' own clock (TIME), so
--          that replicas with skewed clocks agree.
-- ARGV[2]: "1" to take, "0" to peek (nothing is written).
-- ARGV[3i], ARGV[1+3i], ARGV[2+3i]: bucket i's interval (microseconds per
--          token, at least 1), burst, and the tokens to take from it.
--
-- Returns {allowed (1/0), refused bucket (1-based, 0 none), retry
-- (microseconds until the refused bucket could serve; -1 never), then the
-- tokens each bucket held before the decision, in thousandths}. Numbers are
-- integers: Redis truncates Lua numbers in replies.
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local take = ARGV[2] == "1"
local out = {1, 0, 0}
local tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3 * i])
  local burst = tonumber(ARGV[1 + 3 * i])
  local cost = tonumber(ARGV[2 + 3 * i])
  local tat = tonumber(redis.call("GET", KEYS[i]))
  if not tat or tat < now then
    tat = now
  end
  out[3 + i] = math.floor((burst * interval - (tat - now)) * 1000 / interval)
  local newtat = tat + cost * interval
  tats[i] = newtat
  local over = newtat - now - burst * interval
  if out[1] == 1 and over > 0 then
    out[1], out[2] = 0, i
    if cost > burst then
      out[3] = -1
    else
      out[3] = over
    end
  end
end
if take and out[1] == 1 then
  for i = 1, #KEYS do
    -- The key expires when the bucket is full again: a missing key is a
    -- full bucket, so expiry never changes a decision.
    local ttl = math.ceil((tats[i] - now) / 1000) + 1
    redis.call("SET", KEYS[i], string.format("%.0f", tats[i]), "PX", string.format("%.0f", ttl))
  end
end
return out
