-- requires: lib routing_lib
-- An inbound customer message, whole: processed once per provider message id
-- (also when copies reach two hub processes at once); opt-out keywords; the
-- contact's last inbound time; the open conversation takes it, or a new one
-- opens (not for an opt-out keyword), correlated to the outbound activity it
-- answers (see correlate below), and is routed at once.
-- An opt-out or opt-in keyword goes on the archive stream for the consent
-- ledger in the same step.
-- ARGV: prefix, provider id, channel id, channel type, customer, message json,
--       now_ms, keyword, new conversation id, retention_s, default queue,
--       the customer's number hashed under the org's salt, or '' (then, should
--       the channel hold erased customers' opt-outs, the script asks for it:
--       'need_hash', and nothing is changed),
--       provider id of the message the provider says is answered (or ''),
--       activity the text names among the recent ones ('' for none, '?' when
--       the caller has not looked: see below), start of the correlation window (ms),
--       and, for an org with several partitions, what the contact's partition
--       holds for the correlation (JSON, '' otherwise: then it is read here;
--       hub.storage.conversations.correlation_snapshot)
local prefix, sid, channel, ctype, customer = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local msg_json, now, keyword = ARGV[6], ARGV[7], ARGV[8]
local new_id, retention, default_queue = ARGV[9], tonumber(ARGV[10]), ARGV[11]
local customer_hash = ARGV[12] or ''
local replied, choice, since = ARGV[13] or '', ARGV[14] or '', tonumber(ARGV[15] or '0')
local snapshot = nil
if (ARGV[16] or '') ~= '' then snapshot = cjson.decode(ARGV[16]) end

local recent_key = KEY.recent_outbound(prefix, channel, customer)
-- The reads of the correlation: in the org's slot, or in the snapshot of the
-- contact's partition.
local function recent_list()
  if snapshot then return snapshot.recent end
  return redis.call('LRANGE', recent_key, 0, -1)
end
local function latest_pointer()
  if snapshot then return snapshot.latest ~= '' and snapshot.latest or false end
  return redis.call('GET', KEY.last_outbound(prefix, channel, customer))
end
local function sid_pointer(replied_sid)
  if snapshot then return snapshot.sids[replied_sid] or false end
  return redis.call('GET', KEY.provider_message(prefix, replied_sid))
end
local ACT_FIELDS = {'queue', 'body', 'cfg', 'cfg_name', 'case', 'customer', 'created', 'locale', 'to', 'channel'}
-- The activity's fields (ACT_FIELDS, in that order; false for a missing one).
local function activity_fields(act)
  if snapshot then
    local a = snapshot.acts[act] or {}
    local out = {}
    for i = 1, #ACT_FIELDS do
      local v = a[ACT_FIELDS[i]]
      if v == nil or v == cjson.null then out[i] = false else out[i] = v end
    end
    return out
  end
  return redis.call('HMGET', KEY.activity(prefix, act), unpack(ACT_FIELDS))
end
-- The customer's recent outbound entry (hub.domain.correlation.parse_recent:
-- sent ms, provider id's tail, activity id, queue, case, keys...) whose
-- field `at` equals `value`.
local function recent_entry(at, value)
  for _, raw in ipairs(recent_list()) do
    local f, start = {}, 1
    while true do
      local sep = string.find(raw, '\31', start, true)
      if not sep then f[#f + 1] = string.sub(raw, start); break end
      f[#f + 1] = string.sub(raw, start, sep - 1)
      start = sep + 1
    end
    if f[at] == value and value ~= '' then
      return {t = f[1], id = f[3], q = (f[4] ~= '' and f[4]) or 'default', c = f[5] or ''}
    end
  end
  return nil
end
local SID_TAIL = 10  -- hub.domain.correlation.SID_TAIL

-- The latest activity sent to the customer (a JSON copy of what a
-- conversation needs of it once its record has left Redis).
local latest, latest_kept = '', nil

-- The activity the provider says is answered (by its provider id, as status
-- callbacks find it; one sent to someone else does not count), or nil.
local function provider_target(replied_sid)
  if replied_sid == '' then return nil end
  local target = sid_pointer(replied_sid) or ''
  if string.sub(target, 1, 4) == 'act_' then
    local a = activity_fields(target)
    if a[9] == customer and a[10] == channel then return target end
  end
  -- Its pointer leaves with the record after the hot window: the
  -- customer's recent list still knows the message by its id's tail.
  local e = recent_entry(2, string.sub(replied_sid, -SID_TAIL))
  return e and e.id
end

-- Which activity the reply answers (hub.domain.correlation): the one the
-- provider names, else the recent one the caller found named in the text,
-- else the latest.
local function correlate(replied_sid, named)
  latest = latest_pointer() or ''
  if string.sub(latest, 1, 1) == '{' then latest_kept = cjson.decode(latest); latest = latest_kept.id end
  local target = provider_target(replied_sid)
  if target then return target, 'provider_context' end
  if named ~= '' and recent_entry(3, named) then return named, 'content_match' end
  if latest ~= '' then return latest, 'latest' end
  return '', ''
end

local seen = KEY.inbound_message(prefix, sid)
local existing = redis.call('GET', seen)
if existing then return {'duplicate', existing} end

local open_key = KEY.open_conversation(prefix, channel, customer)
-- The open conversation (nothing below changes it before it is used).
local conv = redis.call('GET', open_key)
if choice == '?' then
  -- The caller has not read the text against the recent messages: it needs
  -- to only when this message opens a conversation that the provider does
  -- not place and several messages went to the customer within the window.
  -- Then it gets them, nothing is written, and it calls again with its choice.
  if keyword ~= 'opt_out' and not conv and not provider_target(replied) then
    local recent = {}
    for _, raw in ipairs(recent_list()) do
      if (tonumber(string.match(raw, '^%d+')) or 0) >= since then recent[#recent + 1] = raw end
    end
    if #recent >= 2 then return {'choose', '', '', unpack(recent)} end
  end
  choice = ''
end

local optout = KEY.opted_out(prefix, channel)
local hashed = KEY.opted_out_hashed(prefix, channel)
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
  redis.call('HSET', KEY.consent_state(prefix, channel), customer, keyword == 'opt_out' and 'out' or 'in')
  -- An opt-out names the activity it answers, as a reply would (the report's opt-outs).
  local answers = nil
  if keyword == 'opt_out' then
    answers = correlate(replied, '')
    if answers == '' then answers = nil end
  end
  redis.call('XADD', KEY.archive_stream(prefix), '*', 'consent', cjson.encode({{
    phone = customer, channel = channel, action = keyword, source = 'keyword', at = now,
    message_id = cjson.decode(msg_json).id, provider_message_id = sid, answers = answers}}))
  feed(prefix, keyword == 'opt_out' and 'contact.opted_out' or 'contact.opted_in', now,
       {phone = customer, channel_id = channel, source = 'keyword'})
end
redis.call('HSET', KEY.contact(prefix, customer), 'last_in:' .. channel, now)

if not conv and keyword == 'opt_out' then
  -- An opt-out is no question for an agent: recorded (and confirmed by the
  -- caller), but it opens no conversation. An open one takes it, below, so
  -- the agent sees why their next reply is refused.
  redis.call('SET', seen, '', 'EX', 7 * 86400)
  return {'opted_out', '', ''}
end
local outcome = 'appended'
local queue = nil  -- the conversation's queue, once known
local known = nil  -- a new conversation's {priority, created}
if not conv then
  outcome = 'created'
  conv = new_id
  local act, method = correlate(replied, choice)
  queue = default_queue
  local fields = {}
  if act ~= '' then
    local a = activity_fields(act)
    if not a[1] then
      -- The activity has left Redis: the latest pointer carries what we need
      -- of it, a recent entry its queue, case and time.
      if latest_kept and latest_kept.id == act then
        a = {latest_kept.queue, latest_kept.body, latest_kept.cfg, latest_kept.cfg_name, latest_kept.case,
             latest_kept.customer, latest_kept.created, latest_kept.locale}
      else
        local e = recent_entry(3, act)
        if e then a = {e.q, '', '', '', e.c, '', e.t, ''} end
      end
    end
    if a[1] then
      queue = a[1]
      -- Keep what the customer answers even after the activity expires.
      fields = {'act_body', a[2] or '', 'act_cfg', a[3] or '', 'act_cfg_name', a[4] or '',
                'act_case', a[5] or '', 'act_customer', a[6] or '', 'act_created', a[7] or '',
                'act_locale', a[8] or ''}
    else
      act, method = '', ''
    end
    if act ~= '' then fields[#fields + 1] = 'corr'; fields[#fields + 1] = method end
  end
  -- The configuration answered sets the priority and the skills required
  -- (hub.domain.routing_policy); without one, the defaults.
  local priority, skills = 50, ''
  local cfg = fields[4]
  if cfg and cfg ~= '' then
    local raw = redis.call('GET', KEY.record(prefix, 'configuration', cfg))
    if raw then
      local config = cjson.decode(raw)
      priority = tonumber(config.priority) or 50
      if type(config.required_skills) == 'table' and #config.required_skills > 0 then
        skills = cjson.encode(config.required_skills)
      end
    end
  end
  fields[#fields + 1] = 'priority'; fields[#fields + 1] = priority
  fields[#fields + 1] = 'skills'; fields[#fields + 1] = skills
  local previous = redis.call('GET', KEY.last_conversation(prefix, channel, customer)) or ''
  local ckey = KEY.conversation(prefix, conv)
  redis.call('HSET', ckey, 'id', conv, 'customer', customer, 'channel', channel, 'type', ctype,
             'status', 'waiting', 'agent', '', 'queue', queue, 'activity', act,
             'previous', previous, 'created', now, 'last_in', now, unpack(fields))
  known = {priority, now}
  redis.call('SET', open_key, conv)
  redis.call('SET', KEY.last_conversation(prefix, channel, customer), conv)
  redis.call('ZADD', KEY.conversations(prefix), now, conv)
  feed(prefix, 'conversation.opened', now, {conversation_id = conv, customer = customer, channel_id = channel,
                                            queue = queue, activity_id = (act ~= '' and act) or cjson.null})
end

local ckey = KEY.conversation(prefix, conv)
local m = add_message(prefix, conv, msg_json, nil)
feed(prefix, 'message.received', now, {conversation_id = conv, customer = customer, channel_id = channel,
                                       message = m})
redis.call('ZADD', KEY.timeline(prefix, customer), tonumber(now) * 1000, 'msg:' .. conv .. ':' .. m.id)
redis.call('SET', seen, conv, 'EX', 7 * 86400)
redis.call('EXPIRE', ckey, retention)
redis.call('EXPIRE', KEY.conversation_messages(prefix, conv), retention)
-- A new conversation has no reply statuses yet.
if outcome ~= 'created' then redis.call('EXPIRE', KEY.conversation_reply_statuses(prefix, conv), retention) end

-- Closed for inactivity once the customer has been silent for the queue's
-- inactive_close_seconds (policy_due.lua).
if outcome ~= 'created' then redis.call('HSET', ckey, 'last_in', now) end
if not queue then queue = redis.call('HGET', ckey, 'queue') end
local idle = tonumber(queue_policy(prefix, queue).inactive_close_seconds) or 86400
redis.call('ZADD', KEY.inactive_due(prefix), tonumber(now) + idle * 1000, conv)

local agent
if outcome == 'created' then
  enqueue(prefix, conv, queue, now, false, known)
  drain(prefix, queue, now)
  agent = redis.call('HGET', ckey, 'agent')
else
  agent = redis.call('HGET', ckey, 'agent')
  if agent and agent ~= '' then
    emit(prefix, agent, {type = 'message.created', conversation_id = conv, message = m})
  end
end
archive_changes(prefix)
return {outcome, conv, agent or ''}
