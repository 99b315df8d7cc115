-- Claim a bulk job for one runner, with a lease: the caller saw the job in
-- the active set at ARGV[2] (0 = never claimed, else a lease that lapsed);
-- only the one that still finds that score gets it. A job no longer pending
-- or running leaves the active set.
-- KEYS: active zset, job hash
-- ARGV: job id, seen score, owner, lease until ms, now ms
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not current or tonumber(current) ~= tonumber(ARGV[2]) then return 0 end
local status = redis.call('HGET', KEYS[2], 'status')
if status ~= 'pending' and status ~= 'running' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[2], 'owner', ARGV[3], 'status', 'running', 'updated', ARGV[5])
if status == 'pending' then redis.call('HSET', KEYS[2], 'started', ARGV[5]) end
redis.call('HINCRBY', KEYS[2], 'claims', 1)
return 1
