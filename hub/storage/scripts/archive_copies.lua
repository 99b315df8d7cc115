-- Read, for the archiver, some activities as they are now: for each, its
-- hash (flat), its history and its index score (false: not indexed). One
-- call for a whole batch instead of three commands per activity.
-- KEYS: the org's activity index, then each activity's hash and history.
-- ARGV: the activity ids, in the order of KEYS.
local out = {}
for n = 1, #ARGV do
  out[#out + 1] = redis.call('HGETALL', KEYS[2 * n])
  out[#out + 1] = redis.call('LRANGE', KEYS[2 * n + 1], 0, -1)
  out[#out + 1] = redis.call('ZSCORE', KEYS[1], ARGV[n]) or false
end
return out
