-- Shared by the activity scripts; the loader prepends it with the RANK and
-- TERMINAL tables generated from hub.domain.statuses, so the order of
-- statuses is defined once, in Python.

local function rank(s) return RANK[s] or -1 end

-- The event feed (hub.domain.event_feed): a state change some enabled
-- endpoint of the org subscribes to is appended to the org's event log, a
-- stream whose ids only grow, in the same step as the change. `events:types`
-- holds the types subscribed to; it is read once per script call, so an org
-- without endpoints pays one SMEMBERS of a missing key per call that changes state.
local FEED_TYPES = nil
local function feed(prefix, etype, at_ms, data)
  if FEED_TYPES == nil then
    FEED_TYPES = {}
    for _, t in ipairs(redis.call('SMEMBERS', KEY.event_types(prefix))) do FEED_TYPES[t] = true end
  end
  if not FEED_TYPES[etype] then return end
  redis.call('XADD', KEY.event_log(prefix), '*', 'type', etype, 'at', tostring(at_ms), 'data', cjson.encode(data))
end

-- The SQL history is written when the provider has taken the message, when a
-- callback moves the status, and at every change once it is final; the
-- steps before (queued, sending) stay in Redis' history and go to SQL with it.
-- This tells the last case.
local function archive_now(prefix, act_id)
  return FINAL[redis.call('HGET', KEY.activity(prefix, act_id), 'status') or ''] == true
end

-- Providers repeat callbacks (Twilio on a slow answer, the journal on
-- replay) and send no id of their own, so a callback is identified by its
-- status and error code: one equal to a callback already kept adds nothing.
local function seen_callback(history, status, code)
  code = code or ''
  for _, raw in ipairs(redis.call('LRANGE', history, 0, -1)) do
    local e = cjson.decode(raw)
    if e.source == 'callback' and e.status == status and (e.error_code or '') == code then
      return true
    end
  end
  return false
end

-- Record a status event for one activity and move it forward unless that
-- would step backwards (callbacks arrive late, duplicated and out of order;
-- every distinct one is kept in the history). Returns 1 when the status changed,
-- 0 when only the history grew, nil when the activity is gone.
local function apply_status(prefix, act_id, status, at_ms, code, source)
  local akey = KEY.activity(prefix, act_id)
  local cur = redis.call('HGET', akey, 'status')
  if not cur then return nil end
  if source == 'callback' and seen_callback(KEY.activity_history(prefix, act_id), status, code) then return 0 end
  local event = {status = status, at = tonumber(at_ms), source = source}
  if code and code ~= '' then event.error_code = code end
  redis.call('RPUSH', KEY.activity_history(prefix, act_id), cjson.encode(event))
  if TERMINAL[cur] or rank(status) <= rank(cur) then return 0 end

  redis.call('HSET', akey, 'status', status, 'updated', at_ms)
  if code and code ~= '' then redis.call('HSET', akey, 'error_code', code) end
  if status == 'delivered' or status == 'read' then
    redis.call('HSETNX', akey, 'delivered_at', at_ms)
  end
  local data = {activity_id = act_id, status = status, previous_status = cur}
  if code and code ~= '' then data.error_code = code end
  feed(prefix, 'activity.status', at_ms, data)
  return 1
end
