-- Record one sent chunk of a bulk job: its per-contact outcomes, the counts
-- and the progress, once. Chunks go in order; a chunk recorded already (a
-- runner that lost its lease got there first with the same replayed answer)
-- is 'stale'. The job's contacts for the chunk are dropped. Answers 'next',
-- 'done' when it was the last chunk, or the job's status when it was stopped
-- meanwhile (a canceled job still records the chunk it had sent).
-- The chunk goes on the org's archive stream in the same step, for the
-- archiver to copy its outcomes to SQL.
-- KEYS: job hash, chunk results, chunk contacts, active zset, archive stream
-- ARGV: job id, chunk index, results json, contacts in chunk, now ms, ttl s,
--       finished job's ttl s, status, count, status, count, ...
local expected = tonumber(redis.call('HGET', KEYS[1], 'next') or '-1')
if expected ~= tonumber(ARGV[2]) then return 'stale' end
local ttl = tonumber(ARGV[6])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ttl)
redis.call('DEL', KEYS[3])
for i = 8, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], 'c:' .. ARGV[i], ARGV[i + 1])
end
redis.call('HINCRBY', KEYS[1], 'processed', ARGV[4])
redis.call('HSET', KEYS[1], 'next', expected + 1, 'updated', ARGV[5], 'waiting_until', '')
redis.call('XADD', KEYS[5], '*', 'bulk', ARGV[1] .. ' ' .. ARGV[2])
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'running' then return status end
if expected + 1 >= tonumber(redis.call('HGET', KEYS[1], 'chunks')) then
  redis.call('HSET', KEYS[1], 'status', 'done', 'finished', ARGV[5])
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
  return 'done'
end
return 'next'
