-- requires: lib routing_lib
-- An inbound customer message, whole: processed once per provider message id
-- (also when copies reach two hub processes at once); opt-out keywords; the
-- contact's last inbound time; the open conversation takes it, or a new one
-- opens (not for an opt-out keyword), correlated to the customer's latest outbound activity from this
-- channel number, and is routed at once.
-- An opt-out or opt-in keyword goes on the archive stream for the consent
-- ledger in the same step.
-- ARGV: prefix, provider id, channel id, channel type, customer, message json,
--       now_ms, keyword, new conversation id, retention_s, default queue,
--       the customer's number hashed under the org's salt, or '' (then, should
--       the channel hold erased customers' opt-outs, the script asks for it:
--       'need_hash', and nothing is changed)
local prefix, sid, channel, ctype, customer = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local msg_json, now, keyword = ARGV[6], ARGV[7], ARGV[8]
local new_id, retention, default_queue = ARGV[9], tonumber(ARGV[10]), ARGV[11]
local customer_hash = ARGV[12] or ''

local seen = K(prefix, 'inbound', sid)
local existing = redis.call('GET', seen)
if existing then return {'duplicate', existing} end

local optout = K(prefix, 'optout', channel)
local hashed = K(prefix, 'optout', 'h', channel)
if customer_hash == '' then
  if redis.call('EXISTS', hashed) == 1 then return {'need_hash', '', ''} end
elseif redis.call('SREM', hashed, customer_hash) == 1 then
  -- An erased customer writes again: a new customer, whose opt-out is kept.
  redis.call('SADD', optout, customer)
end
if keyword == 'opt_out' or keyword == 'opt_in' then
  if keyword == 'opt_out' then
    redis.call('SADD', optout, customer)
  else
    redis.call('SREM', optout, customer)
  end
  redis.call('HSET', K(prefix, 'consent', channel), customer, keyword == 'opt_out' and 'out' or 'in')
  redis.call('XADD', K(prefix, 'archive'), '*', 'consent', cjson.encode({{
    phone = customer, channel = channel, action = keyword, source = 'keyword', at = now,
    message_id = cjson.decode(msg_json).id, provider_message_id = sid}}))
end
redis.call('HSET', K(prefix, 'contact', customer), 'last_in:' .. channel, now)

local open_key = K(prefix, 'conv', 'open', channel, customer)
local conv = redis.call('GET', open_key)
if not conv and keyword == 'opt_out' then
  -- An opt-out is no question for an agent: recorded (and confirmed by the
  -- caller), but it opens no conversation. An open one takes it, below, so
  -- the agent sees why their next reply is refused.
  redis.call('SET', seen, '', 'EX', 7 * 86400)
  return {'opted_out', '', ''}
end
local outcome = 'appended'
if not conv then
  outcome = 'created'
  conv = new_id
  local act = redis.call('GET', K(prefix, 'lastout', channel, customer)) or ''
  -- Once the activity has left Redis the pointer carries what we need of it.
  local kept = nil
  if string.sub(act, 1, 1) == '{' then kept = cjson.decode(act); act = kept.id end
  local queue = default_queue
  local fields = {}
  if act ~= '' then
    local a = redis.call('HMGET', K(prefix, 'act', act), 'queue', 'body', 'cfg', 'cfg_name', 'case',
                         'customer', 'created', 'locale')
    if not a[1] and kept then
      a = {kept.queue, kept.body, kept.cfg, kept.cfg_name, kept.case, kept.customer, kept.created,
           kept.locale}
    end
    if a[1] then
      queue = a[1]
      -- Keep what the customer answers even after the activity expires.
      fields = {'act_body', a[2] or '', 'act_cfg', a[3] or '', 'act_cfg_name', a[4] or '',
                'act_case', a[5] or '', 'act_customer', a[6] or '', 'act_created', a[7] or '',
                'act_locale', a[8] or ''}
    else
      act = ''
    end
  end
  local previous = redis.call('GET', K(prefix, 'conv', 'last', channel, customer)) or ''
  local ckey = K(prefix, 'conv', conv)
  redis.call('HSET', ckey, 'id', conv, 'customer', customer, 'channel', channel, 'type', ctype,
             'status', 'waiting', 'agent', '', 'queue', queue, 'activity', act,
             'previous', previous, 'created', now, unpack(fields))
  redis.call('SET', open_key, conv)
  redis.call('SET', K(prefix, 'conv', 'last', channel, customer), conv)
  redis.call('ZADD', K(prefix, 'convs'), now, conv)
end

local ckey = K(prefix, 'conv', conv)
local m = add_message(prefix, conv, msg_json, nil)
redis.call('ZADD', K(prefix, 'timeline', customer), tonumber(now) * 1000, 'msg:' .. conv .. ':' .. m.id)
redis.call('SET', seen, conv, 'EX', 7 * 86400)
for _, key in ipairs({ckey, K(prefix, 'conv', conv, 'msgs'), K(prefix, 'conv', conv, 'mstatus')}) do
  redis.call('EXPIRE', key, retention)
end

local agent = redis.call('HGET', ckey, 'agent')
if outcome == 'created' then
  enqueue(prefix, conv, redis.call('HGET', ckey, 'queue'), now, false)
  drain(prefix, redis.call('HGET', ckey, 'queue'), now)
  agent = redis.call('HGET', ckey, 'agent')
elseif agent and agent ~= '' then
  emit(prefix, agent, {type = 'message.created', conversation_id = conv, message = m})
end
archive_changes(prefix)
return {outcome, conv, agent or ''}
