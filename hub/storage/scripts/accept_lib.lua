-- Accepting a send request; prepended (after lib.lua) to accept_send, and
-- to accept_part, its step for each partition of an org with several.
-- Every key is a KEYS entry of the script or built from the prefix it
-- passes, so each script stays within one hash tag.

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
