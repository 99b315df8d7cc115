-- requires: lib accept_lib
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
  write_activity(prefix, a, now, retention, KEYS[1], KEYS[4])
  if FINAL[a.fields.status] then
    changed[#changed + 1] = a.id
  elseif a.fields.status ~= 'queued' and a.fields.status ~= 'deferred' then
    return redis.error_reply('accept_part: unexpected status ' .. tostring(a.fields.status))
  end
end
if #changed > 0 then redis.call('XADD', KEYS[2], '*', 'ids', table.concat(changed, ' ')) end
redis.call('SET', KEYS[3], '1', 'EX', tonumber(ARGV[4]))
return 1
