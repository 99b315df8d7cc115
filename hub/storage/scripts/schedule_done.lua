-- Finish a firing: drop its lease and, the first time only, record the run
-- in the flow's history (a slow process finishing after a takeover records
-- nothing) and forget a delayed send's contacts.
-- KEYS: firing zset, runs list, flow record, delayed-send payload
-- ARGV: firing member, run json or '', runs kept, '1' to delete the payload
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
end
if ARGV[4] == '1' then redis.call('DEL', KEYS[4]) end
return 1
