-- requires: lib routing_lib
-- Routing policy work that has fallen due: conversations whose customer has
-- been silent for their queue's inactive_close_seconds close (reason
-- `inactive`, their agent's capacity freed), and conversations waiting past
-- their queue's overflow.after_seconds move to the overflow queue, where
-- they keep their arrival order. Each one is looked at once, atomically, so
-- two processes never close or move one twice.
-- ARGV: prefix, now_ms, batch size
-- Returns {closed, moved, the next due time (ms) or ''}
local prefix, now, batch = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local inactive = KEY.inactive_due(prefix)
local closed, moved = 0, 0
for _, conv in ipairs(redis.call('ZRANGEBYSCORE', inactive, '-inf', now, 'LIMIT', 0, batch)) do
  local c = redis.call('HMGET', KEY.conversation(prefix, conv), 'status', 'last_in', 'queue')
  if not c[1] or c[1] == 'closed' then
    redis.call('ZREM', inactive, conv)
  else
    -- The queue's threshold now (it may have changed, or the conversation moved).
    local idle = tonumber(queue_policy(prefix, c[3]).inactive_close_seconds) or 86400
    local deadline = (tonumber(c[2] or '') or now) + idle * 1000
    if deadline > now then
      redis.call('ZADD', inactive, deadline, conv)
    else
      close_conversation(prefix, conv, now, 'inactive')
      closed = closed + 1
    end
  end
end
local due = KEY.overflow_due(prefix)
local targets = {}
for _, conv in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, batch)) do
  redis.call('ZREM', due, conv)
  local c = redis.call('HMGET', KEY.conversation(prefix, conv), 'status', 'queue', 'overflow_from')
  if c[1] == 'waiting' and c[2] == c[3] then
    local over = queue_policy(prefix, c[2]).overflow
    if type(over) == 'table' and over.after_seconds and over.queue ~= c[2] then
      move_waiting(prefix, conv, c[2], over.queue, now)
      targets[over.queue] = true
      moved = moved + 1
    end
  end
end
for q, _ in pairs(targets) do drain(prefix, q, now) end
archive_changes(prefix)
local next_due = ''
for _, key in ipairs({inactive, due}) do
  local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if #head > 0 and (next_due == '' or tonumber(head[2]) < next_due) then next_due = tonumber(head[2]) end
end
return {closed, moved, tostring(next_due)}
