-- A channel's sending pace, shared by every hub process: GCRA, one key holding
-- the time (ms) at which the channel's next message may go. Reserves the
-- caller's slot and says how long to wait for it; it never blocks, the caller
-- sleeps. A caller whose slot lies more than max_ahead ms away reserves
-- nothing and is told when to ask again, so a large batch cannot book the
-- channel far ahead of an agent's reply (which asks with no limit).
-- Redis' clock, not the callers': hub processes on different hosts agree.
-- KEYS: pace key
-- ARGV: interval between messages (ms, may be fractional), max_ahead (ms; -1: no limit)
-- Returns {reserved (0/1), wait_ms}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if next_at < now then next_at = now end
local wait = next_at - now
if limit >= 0 and wait > limit then
  return {0, math.ceil(wait - limit)}
end
local after = next_at + interval
redis.call('SET', KEYS[1], string.format('%.3f', after), 'PX', math.ceil(after - now) + 1000)
return {1, math.ceil(wait)}
