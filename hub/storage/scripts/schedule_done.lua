-- Finish a firing: drop its lease and, the first time only, record the run
-- in the flow's history (a slow process finishing after a takeover records
-- nothing) and forget a delayed send's contacts. A run goes on the org's
-- archive stream in the same step (for SQL); the list item is the stream
-- entry id, a space, and the run, so a read can tell archived runs apart.
-- KEYS: firing zset, runs list, flow record, delayed-send payload, archive stream
-- ARGV: firing member, run json or '', runs kept, '1' to delete the payload, flow id
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then
  local entry = redis.call('XADD', KEYS[5], '*', 'run', ARGV[5], 'data', ARGV[2])
  redis.call('RPUSH', KEYS[2], entry .. ' ' .. ARGV[2])
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
end
if ARGV[4] == '1' then redis.call('DEL', KEYS[4]) end
return 1
