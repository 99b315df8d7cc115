-- Stop a pending or running bulk job: canceled (anyone) or failed (only by
-- the runner holding it). Answers 'ok', 'lost', 'gone' or the status the
-- job already had. The stopped job goes on the org's archive stream in the
-- same step, so the archiver records its unsent rows in SQL.
-- KEYS: active zset, job hash, archive stream
-- ARGV: job id, new status, now ms, error json or '', owner or '', ttl s
local f = redis.call('HMGET', KEYS[2], 'status', 'owner')
if not f[1] then return 'gone' end
if f[1] ~= 'pending' and f[1] ~= 'running' then return f[1] end
if ARGV[5] ~= '' and f[2] ~= ARGV[5] then return 'lost' end
redis.call('HSET', KEYS[2], 'status', ARGV[2], 'finished', ARGV[3], 'updated', ARGV[3],
           'waiting_until', '')
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'error', ARGV[4]) end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
redis.call('XADD', KEYS[3], '*', 'bulk', ARGV[1])
return 'ok'
