-- requires: lib routing_lib
-- An agent's reply (or, with agent '', the hub's own automatic reply to a
-- conversation no agent holds), before it goes to the provider: the conversation must be
-- the agent's and open, the customer not opted out, and on WhatsApp the
-- customer's last message within 24 h, unless it is an approved template
-- (a content sid), which WhatsApp takes at any time. The same client_id twice records
-- (and sends) once. The send is a job in the org's replies stream, so the
-- workers' crash recovery covers it like any outbound activity.
-- KEYS: replies stream
-- ARGV: prefix, agent, conversation, client id, message json, now_ms, retention_s,
--       content sid or '', content variables json or '', media URLs json or ''
local prefix, agent, conv, client_id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now, retention = tonumber(ARGV[6]), tonumber(ARGV[7])
local content_sid, content_vars, media = ARGV[8] or '', ARGV[9] or '', ARGV[10] or ''
local dedupe = KEY.agent_client(prefix, agent, client_id)
local seen = redis.call('GET', dedupe)
if seen then return {'duplicate', seen} end
local c = redis.call('HMGET', KEY.conversation(prefix, conv), 'status', 'agent', 'channel', 'customer', 'type')
if not c[1] then return {'missing'} end
if c[2] ~= agent then return {'not_yours'} end
if c[1] == 'closed' then return {'closed'} end
if redis.call('SISMEMBER', KEY.opted_out(prefix, c[3]), c[4]) == 1 then return {'recipient_opted_out'} end
if c[5] == 'whatsapp' and content_sid == '' then
  local last = tonumber(redis.call('HGET', KEY.contact(prefix, c[4]), 'last_in:' .. c[3]) or '0')
  if now - last > 24 * 3600 * 1000 then return {'whatsapp_window_closed'} end
end
local m = add_message(prefix, conv, ARGV[5], 'queued')
redis.call('SET', dedupe, m.id, 'EX', 86400)
local job = KEY.reply_job(prefix, m.id)
redis.call('HSET', job, 'status', 'queued', 'conv', conv, 'channel', c[3], 'to', c[4], 'type', c[5],
           'body', m.body, 'created', now)
if content_sid ~= '' then redis.call('HSET', job, 'content_sid', content_sid, 'content_vars', content_vars) end
if media ~= '' then redis.call('HSET', job, 'media', media) end
redis.call('EXPIRE', job, retention)
redis.call('XADD', KEYS[1], '*', 'a', m.id)
redis.call('ZADD', KEY.timeline(prefix, c[4]), now * 1000, 'msg:' .. conv .. ':' .. m.id)
if agent ~= '' then emit(prefix, agent, {type = 'message.created', conversation_id = conv, message = m}) end
archive_changes(prefix)
return {'ok', m.id, c[3], c[4], c[5]}
