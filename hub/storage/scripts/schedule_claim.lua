-- Claim one due occurrence of a scheduled flow or delayed send, exactly once
-- however many processes race for it: the caller saw it due at ARGV[2]; only
-- the one that still finds that score moves it on (to its next occurrence,
-- or out of the set when there is none) and takes a lease on the firing.
-- A firing whose lease lapses (its process died) is taken over by another,
-- which sends with the same idempotency keys, so nothing goes out twice.
-- KEYS: due zset, firing zset
-- ARGV: member, expected due ms, next due ms or '', firing member, lease until ms
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not current or tonumber(current) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
return 1
