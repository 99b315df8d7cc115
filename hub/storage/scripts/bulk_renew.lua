-- Keep a claimed job's lease while its runner is alive (and say whether it
-- is waiting out the hourly limit). Answers 'ok', 'lost' when another runner
-- took it over, or the job's status when it is no longer running (canceled).
-- KEYS: active zset, job hash
-- ARGV: job id, owner, lease until ms, waiting until ms or ''
local f = redis.call('HMGET', KEYS[2], 'owner', 'status')
if not f[2] then return 'gone' end
if f[2] ~= 'running' then return f[2] end
if f[1] ~= ARGV[2] then return 'lost' end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
redis.call('HSET', KEYS[2], 'waiting_until', ARGV[4])
return 'ok'
