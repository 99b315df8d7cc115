-- Compare-and-set a sorted-set score: take over a lapsed lease, or push a
-- lease out (a rate-limited firing waits). Only the caller that saw the
-- current score wins.
-- KEYS: zset
-- ARGV: member, expected score, new score
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not current or tonumber(current) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
