-- Accepting a send request; prepended (after lib.lua) to accept_send, and
-- to accept_reserve and accept_part, the steps of the same for an org with
-- several partitions. Every key is a KEYS entry of the script or built
-- from the prefix it passes, so each script stays within one hash tag.

-- The answer a repeat of an earlier request under the same idempotency key
-- gets: nil when there is nothing to repeat (no key, `hash` ''; or nothing
-- kept under it), {'conflict'} when the key was used with another body, else
-- {'replay', the answer kept}. With `pending_too` (accept_reserve: only the
-- partitioned steps mark a key pending), {'pending', request id} while the
-- earlier request is still being accepted.
local function idempotent_answer(idem_key, hash, pending_too)
  if hash == '' then return nil end
  local stored = redis.call('GET', idem_key)
  if not stored then return nil end
  local s = cjson.decode(stored)
  if s.hash ~= hash then return {'conflict'} end
  if pending_too and s.pending then return {'pending', s.pending} end
  return {'replay', s.response}
end

-- The rolling-hour limit: {'limited', seconds to wait} when `limit` requests
-- were accepted in the last `window` ms; else nil, the request counted (when
-- `count_now`: one that holds all its messages for quiet hours counts as
-- they are released, release_deferred.lua).
local function rolling_limit(rate_key, now, window, limit, request_id, count_now)
  redis.call('ZREMRANGEBYSCORE', rate_key, '-inf', now - window)
  if redis.call('ZCARD', rate_key) >= limit then
    local oldest = redis.call('ZRANGE', rate_key, 0, 0, 'WITHSCORES')
    local wait_ms = limit > 0 and oldest[2] and (tonumber(oldest[2]) + window - now) or window
    -- Calls read the clock before their turn here (a bulk job's chunks go in
    -- parallel), so `now` may be older than the oldest counted request: still,
    -- nobody waits longer than the window.
    wait_ms = math.min(wait_ms, window)
    return {'limited', tostring(math.max(1, math.ceil(wait_ms / 1000)))}
  end
  if count_now then
    redis.call('ZADD', rate_key, now, request_id)
    redis.call('PEXPIRE', rate_key, window)
  end
  return nil
end

-- One accepted activity `a` ({id, score, fields}, as ActivityStore sends
-- it): its hash and first history entry, kept `retention` seconds, the
-- org's indexes, the contact's timeline when it shows there, and its job:
-- a queued one goes on the `outbound` stream, a deferred one waits in the
-- `deferred` set until its send_at. Others (final at once) get no job.
local function write_activity(prefix, a, now, retention, outbound, deferred)
  local akey = KEY.activity(prefix, a.id)
  local flat = {}
  for k, v in pairs(a.fields) do
    flat[#flat + 1] = k
    flat[#flat + 1] = tostring(v)
  end
  redis.call('HSET', akey, unpack(flat))
  local event = {status = a.fields.status, at = now, source = 'hub'}
  redis.call('RPUSH', KEY.activity_history(prefix, a.id), cjson.encode(event))
  redis.call('EXPIRE', akey, retention)
  redis.call('EXPIRE', KEY.activity_history(prefix, a.id), retention)
  redis.call('ZADD', KEY.activities(prefix), a.score, a.id)
  redis.call('ZADD', KEY.activities_by_config(prefix, a.fields.cfg), a.score, a.id)
  if a.fields.timeline == '1' then
    redis.call('ZADD', KEY.timeline(prefix, a.fields.to), a.score, 'act:' .. a.id)
  end
  if a.fields.status == 'queued' then
    redis.call('XADD', outbound, '*', 'a', a.id)
  elseif a.fields.status == 'deferred' then
    redis.call('ZADD', deferred, tonumber(a.fields.send_at), a.id)
  end
end

-- The contact's opt-in a send request carries: unless the consent ledger's
-- last word for `phone` on `channel` is already one, it becomes one, and
-- its entry for the archive stream is added to `consents` (once, not per
-- message).
local function record_opt_in(prefix, channel, phone, activity_id, at, consents)
  local ckey = KEY.consent_state(prefix, channel)
  if redis.call('HGET', ckey, phone) ~= 'in' then
    redis.call('HSET', ckey, phone, 'in')
    consents[#consents + 1] = {phone = phone, channel = channel, action = 'opt_in',
                               source = 'send_request', at = at, activity_id = activity_id}
  end
end
