-- requires: lib routing_lib
-- Set (or with '' remove) a queue's routing policy, and whether its hours
-- have it open now; what waits in the queue is offered again at once under it.
-- ARGV: prefix, queue, policy json or '', now_ms, '1' open now or '0' closed
local prefix, queue, policy, now, open = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] or '1'
local key = KEY.queue_policy(prefix, queue)
local existed = redis.call('EXISTS', key)
if policy == '' then
  redis.call('DEL', key)
  redis.call('ZREM', KEY.queue_policies(prefix), queue)
  redis.call('DEL', KEY.queue_closed(prefix, queue))
else
  redis.call('SET', key, policy)
  redis.call('ZADD', KEY.queue_policies(prefix), 0, queue)
  if open == '1' then
    redis.call('DEL', KEY.queue_closed(prefix, queue))
  else
    redis.call('SET', KEY.queue_closed(prefix, queue), now)
  end
end
drain(prefix, queue, now)
archive_changes(prefix)
return existed
