-- A channel's circuit is half-open (its cool-down is over): the first caller
-- whose probe lease is granted tries the provider; everyone else waits.
-- KEYS: circuit hash
-- ARGV: now_ms, lease ms
local now = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'open_until', 'probe_until')
local open_until = tonumber(f[1] or '0')
if open_until == 0 then return 'closed' end
if open_until > now then return 'open' end
if tonumber(f[2] or '0') > now then return 'probing' end
redis.call('HSET', KEYS[1], 'probe_until', now + tonumber(ARGV[2]))
return 'probe'
