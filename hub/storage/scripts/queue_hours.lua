-- requires: lib routing_lib
-- Open or close a queue by its operating hours (hub.domain.routing_policy
-- decides which): a closed queue gives no work to agents; on opening, what
-- waits is offered at once.
-- ARGV: prefix, queue, '1' open or '0' closed, now_ms
local prefix, queue, open, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = KEY.queue_closed(prefix, queue)
if open == '1' then
  if redis.call('DEL', key) == 0 then return 0 end
  local n = drain(prefix, queue, now)
  archive_changes(prefix)
  return n + 1
end
redis.call('SET', key, now)
return 0
