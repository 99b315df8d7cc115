-- requires: lib routing_lib
-- An internal note on a conversation, by the agent holding it: kept with the
-- conversation's messages (direction 'note', so it is archived and read back
-- with them) and pushed to the agent's sockets, but never sent (no reply
-- job, no send status) and no part of the WhatsApp window (which only the
-- customer's messages open). The same client_id twice records once.
-- A supervisor ('1' in ARGV[7]) may note (whisper) on any open conversation
-- of the org: the note goes to the conversation's agent, if any.
-- ARGV: prefix, author, conversation, client id, message json, now_ms, supervisor '1' or ''
local prefix, agent, conv, client_id, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[6])
local supervisor = ARGV[7] == '1'
local dedupe = KEY.agent_note(prefix, agent, client_id)
local seen = redis.call('GET', dedupe)
if seen then return {'duplicate', seen} end
local c = redis.call('HMGET', KEY.conversation(prefix, conv), 'status', 'agent', 'customer')
if not c[1] then return {'missing'} end
if c[2] ~= agent and not supervisor then return {'not_yours'} end
if c[1] == 'closed' then return {'closed'} end
local m = add_message(prefix, conv, ARGV[5], nil)
redis.call('SET', dedupe, m.id, 'EX', 86400)
redis.call('ZADD', KEY.timeline(prefix, c[3]), now * 1000, 'msg:' .. conv .. ':' .. m.id)
if c[2] and c[2] ~= '' then
  emit(prefix, c[2], {type = 'message.created', conversation_id = conv, message = m})
end
archive_changes(prefix)
return {'ok', m.id}
