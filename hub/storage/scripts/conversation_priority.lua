-- requires: lib routing_lib
-- Set an open conversation's priority (0-100); a waiting one takes its new
-- place in its queue at once.
-- ARGV: prefix, conversation id, priority, now_ms
local prefix, conv, priority, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local ckey = KEY.conversation(prefix, conv)
local c = redis.call('HMGET', ckey, 'status', 'queue', 'created')
if not c[1] then return {'missing'} end
if c[1] == 'closed' then return {'closed'} end
redis.call('HSET', ckey, 'priority', priority)
touch(conv)
local waiting = KEY.queue_waiting(prefix, c[2])
if c[1] == 'waiting' and redis.call('ZSCORE', waiting, conv) then
  redis.call('ZADD', waiting, (100 - priority) * BAND + tonumber(c[3]), conv)
  drain(prefix, c[2], now)
end
archive_changes(prefix)
return {'ok'}
