-- Sends whose next attempt is due go back into their stream (agents' replies
-- into the replies stream), each moved in one step so that none is lost or
-- queued twice however many processes run this at once.
-- KEYS: retry sorted set, outbound stream, replies stream
-- ARGV: now_ms, most to move
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local stream = string.sub(id, 1, 4) == 'msg_' and KEYS[3] or KEYS[2]
  redis.call('XADD', stream, '*', 'a', id)
end
return #due
