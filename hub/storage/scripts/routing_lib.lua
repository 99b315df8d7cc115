-- Conversations, agents and their events; prepended to the routing scripts.
-- Every key is built from the org prefix (one hash tag), so each script
-- stays within one Redis Cluster slot.
--
-- Routing rule: among the queue's available agents with free capacity, the
-- one with the fewest open conversations, then the one idle longest (least
-- recently assigned). Each queue keeps those agents in a sorted set scored
-- open * 1e13 + last_assigned_ms, so the choice is its first member.

-- Conversations this script changed. When it ends, archive_changes (or
-- changed_conversations, for a script that adds the field to an entry of its
-- own) bumps each one's version `v` once and appends the ids to the org's
-- archive stream, so the archiver copies them to SQL; the sweep drops a
-- conversation from Redis only while `v` is the version SQL holds.
local CHANGED, CHANGED_ORDER = {}, {}
local function touch(conv)
  if not CHANGED[conv] then
    CHANGED[conv] = true
    CHANGED_ORDER[#CHANGED_ORDER + 1] = conv
  end
end

local function changed_conversations(prefix)
  if #CHANGED_ORDER == 0 then return nil end
  for _, conv in ipairs(CHANGED_ORDER) do redis.call('HINCRBY', KEY.conversation(prefix, conv), 'v', 1) end
  local ids = table.concat(CHANGED_ORDER, ' ')
  CHANGED, CHANGED_ORDER = {}, {}
  return ids
end

-- Supervisors' boards: while one watches the org (a process holding a
-- board refreshes `board:watch`), every routing script ends by publishing
-- the conversations it changed ('' for a presence change) on the org's board
-- channel. A wake-up only: the board is read again from Redis.
local function board_changed(prefix, ids)
  if redis.call('EXISTS', KEY.board_watch(prefix)) == 1 then
    redis.call(PUBLISH_COMMAND, KEY.board_notify(prefix), ids or '')
  end
end

local function archive_changes(prefix)
  local ids = changed_conversations(prefix)
  if ids then redis.call('XADD', KEY.archive_stream(prefix), '*', 'conv', ids) end
  board_changed(prefix, ids)
end

local EVENTS_TRIM_EVERY = 50
local function emit(prefix, agent, event)
  local seq = redis.call('INCR', KEY.agent_sequence(prefix, agent))
  -- The id leads the JSON, so a process delivering the event reads it
  -- without parsing the rest (hub.routing.protocol.event_id).
  event.id = nil
  local rest = cjson.encode(event)
  local json = '{"id":' .. seq .. (rest == '{}' and '}' or ',' .. string.sub(rest, 2))
  local ekey = KEY.agent_events(prefix, agent)
  redis.call('ZADD', ekey, seq, json)
  -- Keep the last 2000 for resume (up to EVENTS_TRIM_EVERY more between trims).
  if seq % EVENTS_TRIM_EVERY == 0 then redis.call('ZREMRANGEBYRANK', ekey, 0, -2001) end
  -- SPUBLISH on a Redis >= 7 cluster: only the org's shard hears it.
  redis.call(PUBLISH_COMMAND, KEY.agent_notify(prefix, agent), json)
  return seq
end

local function agent_queues(prefix, agent)
  local raw = redis.call('HGET', KEY.agent(prefix, agent), 'queues')
  if not raw then return {} end
  return cjson.decode(raw)
end

-- Put the agent in (or take it out of) each of its queues' candidate sets.
local function refresh_agent(prefix, agent)
  local f = redis.call('HMGET', KEY.agent(prefix, agent), 'presence', 'capacity', 'open', 'last_assigned', 'queues')
  local open, cap = tonumber(f[3] or '0') or 0, tonumber(f[2] or '0') or 0
  local free = f[1] == 'available' and open < cap
  for _, q in ipairs((f[5] and cjson.decode(f[5])) or {}) do
    local set = KEY.queue_agents(prefix, q)
    if free then
      redis.call('ZADD', set, open * 1e13 + (tonumber(f[4] or '0') or 0), agent)
    else
      redis.call('ZREM', set, agent)
    end
  end
  if f[1] == 'available' then
    redis.call('SADD', KEY.agents_available(prefix), agent)
  else
    redis.call('SREM', KEY.agents_available(prefix), agent)
  end
end

local function messages(prefix, conv)
  local out = {}
  local statuses = redis.call('HGETALL', KEY.conversation_reply_statuses(prefix, conv))
  local st = {}
  for i = 1, #statuses, 2 do st[statuses[i]] = statuses[i + 1] end
  for _, raw in ipairs(redis.call('LRANGE', KEY.conversation_messages(prefix, conv), 0, -1)) do
    local m = cjson.decode(raw)
    if st[m.id] then
      local s = cjson.decode(st[m.id])
      m.status = s.status
      m.error_code = s.error_code
    end
    out[#out + 1] = m
  end
  return out
end

local function conversation(prefix, conv, with_messages)
  local h = redis.call('HGETALL', KEY.conversation(prefix, conv))
  if #h == 0 then return nil end
  local c = {}
  for i = 1, #h, 2 do c[h[i]] = h[i + 1] end
  local out = {
    id = c.id, customer = c.customer, channel_id = c.channel, status = c.status,
    agent_id = (c.agent ~= '' and c.agent) or cjson.null, queue = c.queue,
    correlated = c.activity ~= '', created_at = tonumber(c.created) / 1000,
    previous_conversation_id = (c.previous ~= '' and c.previous) or cjson.null,
    channel_type = c.type, activity = cjson.null, correlation = cjson.null,
    priority = tonumber(c.priority or '') or 50,
  }
  if c.close_reason and c.close_reason ~= '' then out.close_reason = c.close_reason end
  if c.activity ~= '' then
    -- Before methods were recorded, a reply was linked to the latest message.
    out.correlation = {activity_id = c.activity, method = (c.corr ~= nil and c.corr ~= '' and c.corr) or 'latest'}
    local a = redis.call('HMGET', KEY.activity(prefix, c.activity), 'id', 'body', 'cfg', 'cfg_name',
                         'case', 'customer', 'created', 'locale')
    if a[1] then
      out.activity = {id = a[1], body = a[2], configuration_id = a[3],
                      configuration_name = a[4] or cjson.null, case_name = a[5],
                      customer_name = a[6], sent_at = tonumber(a[7]) / 1000, locale = a[8]}
    else
      out.activity = {id = c.activity, body = c.act_body, configuration_id = c.act_cfg,
                      configuration_name = (c.act_cfg_name ~= '' and c.act_cfg_name) or cjson.null,
                      case_name = c.act_case, customer_name = c.act_customer,
                      sent_at = tonumber(c.act_created or '') and tonumber(c.act_created) / 1000,
                      locale = (c.act_locale ~= '' and c.act_locale) or nil}
    end
  end
  if c.type == 'whatsapp' and c.status ~= 'closed' then
    -- When free text stops being allowed (24 h after the customer's last message).
    local last = tonumber(redis.call('HGET', KEY.contact(prefix, c.customer), 'last_in:' .. c.channel) or '0')
    out.whatsapp_window_closes_at = (last + 24 * 3600 * 1000) / 1000
  end
  if with_messages then out.messages = messages(prefix, conv) end
  return out
end

local WAIT_BUCKETS = {0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800}

-- Waiting time to first assignment, as histogram counters every process
-- exposes on /metrics (so the figure covers the whole hub). A wait counts
-- once, in the smallest bucket that holds it (`b_<le>`; none past the last):
-- /metrics adds them up (hub.metrics.WaitCollector), so an assignment costs
-- one counter, not one per bucket.
local function observe_wait(prefix, ckey, now, created)
  if redis.call('HSETNX', ckey, 'first_assigned', now) == 0 then return end
  local secs = math.max(0, (tonumber(now) - tonumber(created)) / 1000)
  local stats = KEY.wait_stats(prefix)
  redis.call('HINCRBY', stats, 'count', 1)
  redis.call('HINCRBYFLOAT', stats, 'sum', secs)
  for _, le in ipairs(WAIT_BUCKETS) do
    if secs <= le then
      redis.call('HINCRBY', stats, 'b_' .. le, 1)
      break
    end
  end
end

local function assign(prefix, conv, agent, now)
  local ckey = KEY.conversation(prefix, conv)
  local c = redis.call('HMGET', ckey, 'created', 'customer', 'queue')
  observe_wait(prefix, ckey, now, c[1])
  redis.call('HSET', ckey, 'status', 'assigned', 'agent', agent, 'assigned', now)
  touch(conv)
  local akey = KEY.agent(prefix, agent)
  redis.call('HINCRBY', akey, 'open', 1)
  redis.call('HSET', akey, 'last_assigned', now)
  redis.call('SADD', KEY.agent_conversations(prefix, agent), conv)
  -- Customers the agent serves or has served (→ last assignment): whose
  -- history it may read. Trimmed to the retention period by maintenance.
  redis.call('ZADD', KEY.agent_served(prefix, agent), now, c[2])
  refresh_agent(prefix, agent)
  emit(prefix, agent, {type = 'conversation.assigned', conversation = conversation(prefix, conv, true)})
  feed(prefix, 'conversation.assigned', now, {conversation_id = conv, agent_id = agent, queue = c[3]})
end

-- A queue's routing policy (hub.domain.routing_policy), {} when none is set.
local POLICIES = {}
local function queue_policy(prefix, queue)
  local p = POLICIES[queue]
  if p == nil then
    local raw = redis.call('GET', KEY.queue_policy(prefix, queue))
    p = (raw and cjson.decode(raw)) or {}
    POLICIES[queue] = p
  end
  return p
end

-- Waiting order: higher priority first, then arrival (hub.domain.routing_policy.waiting_score).
local BAND = 2e13
local function priority_of(prefix, conv)
  return tonumber(redis.call('HGET', KEY.conversation(prefix, conv), 'priority') or '') or 50
end

local function needs_of(policy, conv_skills)
  local need = {}
  for _, r in ipairs(policy.required_skills or {}) do need[#need + 1] = r end
  if conv_skills and conv_skills ~= '' then
    for _, r in ipairs(cjson.decode(conv_skills)) do need[#need + 1] = r end
  end
  return need
end

local function qualifies(skills, need)
  for _, r in ipairs(need) do
    if (tonumber(skills[r.name] or 0) or 0) < tonumber(r.min_level) then return false end
  end
  return true
end

-- The first of the queue's free agents (fewest open, then idle longest)
-- who has the skills the conversation needs, or nil.
local function pick_agent(prefix, agents, need, cache)
  if #need == 0 then
    return redis.call('ZRANGE', agents, 0, 0)[1]
  end
  for _, agent in ipairs(redis.call('ZRANGE', agents, 0, -1)) do
    local skills = cache[agent]
    if skills == nil then
      local raw = redis.call('HGET', KEY.agent(prefix, agent), 'skills')
      skills = (raw and raw ~= '' and cjson.decode(raw)) or {}
      cache[agent] = skills
    end
    if qualifies(skills, need) then return agent end
  end
  return nil
end

-- How far down a queue one drain looks for work a free agent has the skills for.
local SKILL_SCAN = 200
local OVERFLOW_DEPTH = 3

local drain

-- Queue a conversation; `front` puts it before everything already waiting
-- of its priority. A queue that overflows after a wait schedules the move.
-- `known`: {priority, created time} of a conversation the calling script
-- has just written, waiting in `queue`; nothing of it is read back.
local function enqueue(prefix, conv, queue, now, front, known)
  local ckey = KEY.conversation(prefix, conv)
  if not known then
    redis.call('HSET', ckey, 'status', 'waiting', 'agent', '', 'queue', queue)
    known = {priority_of(prefix, conv), redis.call('HGET', ckey, 'created')}
  end
  touch(conv)
  local band = (100 - known[1]) * BAND
  local score = band + tonumber(known[2])
  if front then score = band - tonumber(now) end
  redis.call('ZADD', KEY.queue_waiting(prefix, queue), score, conv)
  redis.call('SADD', KEY.queues(prefix), queue)
  local over = queue_policy(prefix, queue).overflow
  if type(over) == 'table' and over.after_seconds then
    redis.call('HSET', ckey, 'overflow_from', queue)
    redis.call('ZADD', KEY.overflow_due(prefix), tonumber(now) + over.after_seconds * 1000, conv)
  end
end

-- Move a waiting conversation to another queue, keeping its arrival order.
local function move_waiting(prefix, conv, from, to, now)
  redis.call('ZREM', KEY.queue_waiting(prefix, from), conv)
  redis.call('HSET', KEY.conversation(prefix, conv), 'overflowed_from', from)
  enqueue(prefix, conv, to, now, false)
end

-- Give waiting conversations of a queue to free agents, highest priority
-- then oldest first; one nobody free has the skills for waits without
-- holding up those behind it. A queue outside its hours gives nothing. A
-- queue with more waiting than its overflow's `waiting_over` moves the
-- last ones to the overflow queue. Returns the number assigned.
drain = function(prefix, queue, now, depth)
  local waiting = KEY.queue_waiting(prefix, queue)
  local agents = KEY.queue_agents(prefix, queue)
  local policy = queue_policy(prefix, queue)
  local n = 0
  local scan = redis.call('EXISTS', KEY.queue_closed(prefix, queue)) == 0
  if scan and #(policy.required_skills or {}) > 0 then
    -- Nobody free meets the queue's own requirements: nothing to look for.
    scan = pick_agent(prefix, agents, policy.required_skills, {}) ~= nil
  end
  if scan then
    -- unmet: the requirements (a conversation's own skills) no free agent
    -- met in this pass; later conversations with the same are skipped unscanned.
    local skip, cache, unmet = 0, {}, {}
    while skip < SKILL_SCAN do
      local head = redis.call('ZRANGE', waiting, skip, skip)
      if #head == 0 then break end
      if redis.call('ZCARD', agents) == 0 then break end
      local own = redis.call('HGET', KEY.conversation(prefix, head[1]), 'skills') or ''
      local best = nil
      if not unmet[own] then
        best = pick_agent(prefix, agents, needs_of(policy, own), cache)
        if not best then unmet[own] = true end
      end
      if best then
        redis.call('ZREM', waiting, head[1])
        assign(prefix, head[1], best, now)
        n = n + 1
      else
        skip = skip + 1
      end
    end
  end
  local over = policy.overflow
  if type(over) == 'table' and over.waiting_over and (depth or 0) < OVERFLOW_DEPTH then
    local extra = redis.call('ZRANGE', waiting, over.waiting_over, -1)
    if #extra > 0 then
      for _, conv in ipairs(extra) do move_waiting(prefix, conv, queue, over.queue, now) end
      drain(prefix, over.queue, now, (depth or 0) + 1)
    end
  end
  return n
end

local function drain_agent_queues(prefix, agent, now)
  for _, q in ipairs(agent_queues(prefix, agent)) do drain(prefix, q, now) end
end

-- Take a conversation away from its agent (close, transfer, agent gone).
local function release(prefix, conv, agent)
  local akey = KEY.agent(prefix, agent)
  if redis.call('SREM', KEY.agent_conversations(prefix, agent), conv) == 1 then
    if tonumber(redis.call('HINCRBY', akey, 'open', -1)) < 0 then redis.call('HSET', akey, 'open', 0) end
  end
  refresh_agent(prefix, agent)
end

local function add_message(prefix, conv, msg_json, status)
  local m = cjson.decode(msg_json)
  redis.call('RPUSH', KEY.conversation_messages(prefix, conv), msg_json)
  touch(conv)
  if status then
    redis.call('HSET', KEY.conversation_reply_statuses(prefix, conv), m.id, cjson.encode({status = status}))
    m.status = status
  end
  return m
end

-- The agent is gone: its open conversations go back to the front of their
-- queues, where other free agents take them at once. Returns how many.
-- The agent's log says so, so that a client resuming from it does not keep
-- conversations that are no longer its own.
local function set_offline(prefix, agent, now)
  local akey = KEY.agent(prefix, agent)
  if redis.call('HGET', akey, 'presence') ~= 'offline' then redis.call('HSET', akey, 'presence_at', now) end
  redis.call('HSET', akey, 'presence', 'offline')
  local convs = redis.call('SMEMBERS', KEY.agent_conversations(prefix, agent))
  table.sort(convs)
  local queues = {}
  for _, conv in ipairs(convs) do
    release(prefix, conv, agent)
    local q = redis.call('HGET', KEY.conversation(prefix, conv), 'queue')
    enqueue(prefix, conv, q, now, true)
    emit(prefix, agent, {type = 'conversation.transferred', conversation_id = conv,
                         to_agent_id = cjson.null, to_queue = q, reason = 'agent_offline'})
    queues[q] = true
  end
  redis.call('HSET', akey, 'open', 0)
  refresh_agent(prefix, agent)
  for q, _ in pairs(queues) do drain(prefix, q, now) end
  return #convs
end

-- Move an outbound conversation message's status forward (never back) and
-- tell the conversation's agent. Returns 1 when it moved, 0 when not, nil
-- when the conversation has left Redis (the caller hands it to the archiver).
local function set_message_status(prefix, conv, msg, status, code)
  local agent = redis.call('HGET', KEY.conversation(prefix, conv), 'agent')
  if not agent then return nil end
  local skey = KEY.conversation_reply_statuses(prefix, conv)
  local cur = redis.call('HGET', skey, msg)
  local current = cur and cjson.decode(cur).status or 'queued'
  if TERMINAL[current] or rank(status) <= rank(current) then return 0 end
  local value = {status = status}
  if code and code ~= '' then value.error_code = code end
  redis.call('HSET', skey, msg, cjson.encode(value))
  touch(conv)
  if agent ~= '' then
    emit(prefix, agent, {type = 'message.status', conversation_id = conv, message_id = msg,
                         status = status, error_code = value.error_code or cjson.null})
  end
  return 1
end

-- Close a conversation, freeing its agent's capacity for waiting work at
-- once; the agent gets `conversation.closed` (with the reason, if any).
local function close_conversation(prefix, conv, now, reason)
  local ckey = KEY.conversation(prefix, conv)
  local c = redis.call('HMGET', ckey, 'status', 'agent', 'channel', 'customer', 'queue')
  redis.call('HSET', ckey, 'status', 'closed', 'closed', now)
  if reason ~= '' then redis.call('HSET', ckey, 'close_reason', reason) end
  touch(conv)
  local open_key = KEY.open_conversation(prefix, c[3], c[4])
  if redis.call('GET', open_key) == conv then redis.call('DEL', open_key) end
  redis.call('ZREM', KEY.queue_waiting(prefix, c[5]), conv)
  redis.call('ZREM', KEY.inactive_due(prefix), conv)
  redis.call('ZREM', KEY.overflow_due(prefix), conv)
  if c[2] and c[2] ~= '' then
    release(prefix, conv, c[2])
    local event = {type = 'conversation.closed', conversation_id = conv}
    if reason ~= '' then event.reason = reason end
    emit(prefix, c[2], event)
    drain_agent_queues(prefix, c[2], now)
  end
  feed(prefix, 'conversation.closed', now, {conversation_id = conv, agent_id = (c[2] ~= '' and c[2]) or cjson.null,
                                            reason = (reason ~= '' and reason) or cjson.null})
  return c[2] or ''
end
