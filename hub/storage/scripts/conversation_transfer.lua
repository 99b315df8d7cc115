-- requires: lib routing_lib
-- Transfer a conversation to an agent (who must be available with free
-- capacity: never over capacity) or to a queue (where it waits its turn by
-- its original arrival time).
-- ARGV: prefix, conversation id, acting agent id or '', target agent or '', target queue or '', now_ms
local prefix, conv, actor, to_agent, to_queue, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local ckey = KEY.conversation(prefix, conv)
local c = redis.call('HMGET', ckey, 'status', 'agent', 'queue')
if not c[1] then return {'missing'} end
if actor ~= '' and c[2] ~= actor then return {'not_yours'} end
if c[1] == 'closed' then return {'closed'} end
if to_agent ~= '' then
  local t = redis.call('HMGET', KEY.agent(prefix, to_agent), 'presence', 'capacity', 'open')
  if not t[1] then return {'no_agent'} end
  if t[1] ~= 'available' or tonumber(t[3] or '0') >= tonumber(t[2] or '0') then return {'agent_unavailable'} end
  if to_agent == c[2] then return {'ok'} end
end
local from = c[2] or ''
if from ~= '' then
  release(prefix, conv, from)
  emit(prefix, from, {type = 'conversation.transferred', conversation_id = conv,
                      to_agent_id = (to_agent ~= '' and to_agent) or cjson.null,
                      to_queue = (to_queue ~= '' and to_queue) or cjson.null})
end
redis.call('ZREM', KEY.queue_waiting(prefix, c[3]), conv)
if to_agent ~= '' then
  redis.call('HSET', ckey, 'queue', c[3])
  assign(prefix, conv, to_agent, now)
else
  enqueue(prefix, conv, to_queue, now, false)
  drain(prefix, to_queue, now)
end
if from ~= '' then drain_agent_queues(prefix, from, now) end
archive_changes(prefix)
return {'ok'}
