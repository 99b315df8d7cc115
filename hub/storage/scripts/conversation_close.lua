-- requires: lib routing_lib
-- Close a conversation (its agent, or an admin with agent ''), freeing
-- capacity that waiting conversations take at once.
-- ARGV: prefix, conversation id, acting agent id or '', now_ms, reason or ''
-- (e.g. 'erased': the customer's data is being erased; the agent's event says it)
local prefix, conv, actor, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local reason = ARGV[5] or ''
local ckey = KEY.conversation(prefix, conv)
local c = redis.call('HMGET', ckey, 'status', 'agent', 'channel', 'customer', 'queue')
if not c[1] then return {'missing'} end
if actor ~= '' and c[2] ~= actor then return {'not_yours'} end
if c[1] == 'closed' then return {'closed'} end
local agent = close_conversation(prefix, conv, now, reason)
archive_changes(prefix)
return {'ok', agent}
