-- A retryable failure on a channel (unreachable, 429, 5xx, timeout). After
-- `threshold` in a row the circuit opens for the cool-down; a failed probe
-- opens it again at once. Returns {until when it is open (ms) or 0, 1 if it
-- opened just now}.
-- KEYS: circuit hash, open circuits sorted set
-- ARGV: channel id, now_ms, threshold, cool-down ms, probe (1 when this was the probe)
local now, threshold, cooldown = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local fails = redis.call('HINCRBY', KEYS[1], 'fails', 1)
local open_until = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
redis.call('PEXPIRE', KEYS[1], cooldown + 86400000)
if ARGV[5] == '1' or (open_until == 0 and fails >= threshold) then
  open_until = now + cooldown
  redis.call('HSET', KEYS[1], 'open_until', open_until, 'probe_until', 0)
  redis.call('ZADD', KEYS[2], open_until, ARGV[1])
  return {open_until, 1}
end
return {open_until, 0}
