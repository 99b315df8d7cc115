-- requires: lib
-- Accepting a send request of an org with several partitions, step 2 of 3,
-- in one partition's slot: its share of the request's activities, their
-- indexes and their jobs, as accept_send writes them. Run again (a replay,
-- the recovery loop) it changes nothing: the first run leaves a marker.
-- A message held by the recipient's quiet hours waits in the partition's
-- deferred set (release_deferred).
-- KEYS: the partition's outbound stream, archive stream, marker, deferred set
-- ARGV: prefix (the partition's), now_ms, retention_s, marker ttl_s, activity_json...
local prefix, now = ARGV[1], tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local retention = tonumber(ARGV[3])
local changed = {}
for i = 5, #ARGV do
  local a = cjson.decode(ARGV[i])
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
    redis.call('XADD', KEYS[1], '*', 'a', a.id)
  elseif a.fields.status == 'deferred' then
    redis.call('ZADD', KEYS[4], tonumber(a.fields.send_at), a.id)
  elseif FINAL[a.fields.status] then
    changed[#changed + 1] = a.id
  else
    return redis.error_reply('accept_part: unexpected status ' .. tostring(a.fields.status))
  end
end
if #changed > 0 then redis.call('XADD', KEYS[2], '*', 'ids', table.concat(changed, ' ')) end
redis.call('SET', KEYS[3], '1', 'EX', tonumber(ARGV[4]))
return 1
