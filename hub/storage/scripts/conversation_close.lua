-- requires: lib routing_lib
-- Close a conversation (its agent, or an admin with agent ''), freeing
-- capacity that waiting conversations take at once.
-- ARGV: prefix, conversation id, acting agent id or '', now_ms, reason or ''
-- (e.g. 'erased': the customer's data is being erased; the agent's event says it)
local prefix, conv, actor, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local reason = ARGV[5] or ''
local ckey = K(prefix, 'conv', conv)
local c = redis.call('HMGET', ckey, 'status', 'agent', 'channel', 'customer', 'queue')
if not c[1] then return {'missing'} end
if actor ~= '' and c[2] ~= actor then return {'not_yours'} end
if c[1] == 'closed' then return {'closed'} end
redis.call('HSET', ckey, 'status', 'closed', 'closed', now)
if reason ~= '' then redis.call('HSET', ckey, 'close_reason', reason) end
touch(conv)
local open_key = K(prefix, 'conv', 'open', c[3], c[4])
if redis.call('GET', open_key) == conv then redis.call('DEL', open_key) end
redis.call('ZREM', K(prefix, 'q', c[5], 'waiting'), conv)
if c[2] and c[2] ~= '' then
  release(prefix, conv, c[2])
  local event = {type = 'conversation.closed', conversation_id = conv}
  if reason ~= '' then event.reason = reason end
  emit(prefix, c[2], event)
  drain_agent_queues(prefix, c[2], now)
end
feed(prefix, 'conversation.closed', now, {conversation_id = conv, agent_id = (c[2] ~= '' and c[2]) or cjson.null,
                                          reason = (reason ~= '' and reason) or cjson.null})
archive_changes(prefix)
return {'ok', c[2] or ''}
