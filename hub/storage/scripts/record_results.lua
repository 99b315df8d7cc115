-- requires: lib
-- Record what the provider answered for a batch of sends and acknowledge the
-- jobs, in one step so a crash cannot ack a send whose outcome is unknown.
-- Status callbacks that arrived before the provider id was stored (they
-- raced the provider's answer) are parked under the id and applied here.
-- KEYS: outbound stream, archive stream
-- ARGV: prefix, now_ms, group, retention_s, correlation window ms, then 6 per
--       result: activity id, stream entry id, outcome, provider id, error code, detail
local prefix, now, group = ARGV[1], ARGV[2], ARGV[3]
local retention, window = tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 6, #ARGV, 6 do
  local id, entry, outcome = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local sid, code = ARGV[i + 3], ARGV[i + 4]
  local akey = prefix .. ':act:' .. id
  if outcome == 'accepted' then
    redis.call('HSET', akey, 'sid', sid)
    redis.call('SET', prefix .. ':sid:' .. sid, id, 'EX', retention)
    -- A reply from this customer to this number now answers this activity.
    local a = redis.call('HMGET', akey, 'channel', 'to')
    redis.call('SET', prefix .. ':lastout:' .. a[1] .. ':' .. a[2], id, 'PX', window)
    redis.call('RPUSH', akey .. ':h', cjson.encode(
      {status = 'sending', at = tonumber(now), source = 'provider', provider_status = ARGV[i + 5]}))
    local early = prefix .. ':sid:' .. sid .. ':early'
    for _, raw in ipairs(redis.call('LRANGE', early, 0, -1)) do
      local e = cjson.decode(raw)
      apply_status(prefix, id, e.status, e.at, e.error_code or '', 'callback')
    end
    redis.call('DEL', early)
  elseif outcome == 'rejected' or outcome == 'failed' or outcome == 'skipped_opted_out' then
    apply_status(prefix, id, outcome, now, code, 'provider')
  end
  if entry ~= '' then
    redis.call('XACK', KEYS[1], group, entry)
    redis.call('XDEL', KEYS[1], entry)
  end
end
local changed = {} for i = 6, #ARGV, 6 do changed[#changed + 1] = ARGV[i] end
if #changed > 0 then redis.call('XADD', KEYS[2], '*', 'ids', table.concat(changed, ' ')) end
return 1
