-- requires: lib routing_lib
-- Set (or with '' remove) a queue's routing policy, and whether its hours
-- have it open now; what waits in the queue is offered again at once under it.
-- ARGV: prefix, queue, policy json or '', now_ms, '1' open now or '0' closed
local prefix, queue, policy, now, open = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] or '1'
local key = K(prefix, 'qp', queue)
local existed = redis.call('EXISTS', key)
if policy == '' then
  redis.call('DEL', key)
  redis.call('ZREM', K(prefix, 'qps'), queue)
  redis.call('DEL', K(prefix, 'qclosed', queue))
else
  redis.call('SET', key, policy)
  redis.call('ZADD', K(prefix, 'qps'), 0, queue)
  if open == '1' then
    redis.call('DEL', K(prefix, 'qclosed', queue))
  else
    redis.call('SET', K(prefix, 'qclosed', queue), now)
  end
end
drain(prefix, queue, now)
archive_changes(prefix)
return existed
