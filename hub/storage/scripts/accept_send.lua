-- requires: lib accept_lib
-- Accept a send request atomically: idempotency, the rolling-hour limit,
-- the activities, their indexes, and the outbound jobs.
-- A contact's opt-in (the request's `optin`) goes on the archive stream for
-- the consent ledger when the ledger's last word for the number and channel
-- is not already an opt-in (once, not per message).
-- Either all of it happens or none (a refused request leaves no trace and
-- does not count against the limit).
-- A contact held by its quiet hours (status `deferred`) waits in the
-- deferred set until its send_at instead of going to the stream; a request
-- that sends nothing now but holds some counts against the limit only when
-- they are released (release_deferred.lua).
-- KEYS: rate zset, idempotency key, outbound stream, archive stream, deferred zset
-- ARGV: prefix, now_ms, window_ms, limit, request_id, idem_hash, idem_ttl_s,
--       response_json, retention_s, count_now ('1' or '0'), activity_json...
local prefix, now = ARGV[1], tonumber(ARGV[2])
local window, limit = tonumber(ARGV[3]), tonumber(ARGV[4])

local earlier = idempotent_answer(KEYS[2], ARGV[6], false)
if earlier then return earlier end
local limited = rolling_limit(KEYS[1], now, window, limit, ARGV[5], ARGV[10] == '1')
if limited then return limited end

local retention = tonumber(ARGV[9])
local consents = {}
for i = 11, #ARGV do
  local a = cjson.decode(ARGV[i])
  write_activity(prefix, a, now, retention, KEYS[3], KEYS[5])
  if a.fields.status == 'queued' or a.fields.status == 'deferred' then
    record_opt_in(prefix, a.fields.channel, a.fields.to, a.id, ARGV[2], consents)
  end
end

if ARGV[6] ~= '' then
  redis.call('SET', KEYS[2], cjson.encode({hash = ARGV[6], response = ARGV[8]}),
             'EX', tonumber(ARGV[7]))
end
-- Only what is final at once (canceled, skipped) goes to the history now;
-- a queued activity goes when the provider takes it (lib.lua archive_now).
local changed = {}
for i = 11, #ARGV do
  local a = cjson.decode(ARGV[i])
  if FINAL[a.fields.status] then changed[#changed + 1] = a.id end
end
if #changed > 0 then redis.call('XADD', KEYS[4], '*', 'ids', table.concat(changed, ' ')) end
if #consents > 0 then redis.call('XADD', KEYS[4], '*', 'consent', cjson.encode(consents)) end
return {'ok'}
