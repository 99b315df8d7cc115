-- Shared by the activity scripts; the loader prepends it with the RANK and
-- TERMINAL tables generated from hub.domain.statuses, so the order of
-- statuses is defined once, in Python.

local function rank(s) return RANK[s] or -1 end

-- The SQL history is written when the provider has taken the message, when a
-- callback moves the status, and at every change once it is final; the
-- steps before (queued, sending) stay in Redis' history and go to SQL with it.
-- This tells the last case.
local function archive_now(prefix, act_id)
  return FINAL[redis.call('HGET', prefix .. ':act:' .. act_id, 'status') or ''] == true
end

-- Providers repeat callbacks (Twilio on a slow answer, the journal on
-- replay) and send no id of their own, so a callback is identified by its
-- status and error code: one equal to a callback already kept adds nothing.
local function seen_callback(akey, status, code)
  code = code or ''
  for _, raw in ipairs(redis.call('LRANGE', akey .. ':h', 0, -1)) do
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
  local akey = prefix .. ':act:' .. act_id
  local cur = redis.call('HGET', akey, 'status')
  if not cur then return nil end
  if source == 'callback' and seen_callback(akey, status, code) then return 0 end
  local event = {status = status, at = tonumber(at_ms), source = source}
  if code and code ~= '' then event.error_code = code end
  redis.call('RPUSH', akey .. ':h', cjson.encode(event))
  if TERMINAL[cur] or rank(status) <= rank(cur) then return 0 end

  redis.call('HSET', akey, 'status', status, 'updated', at_ms)
  if code and code ~= '' then redis.call('HSET', akey, 'error_code', code) end
  if status == 'delivered' or status == 'read' then
    redis.call('HSETNX', akey, 'delivered_at', at_ms)
  end
  return 1
end
