-- A provider status callback. When the provider id is not known yet (the
-- callback beat the worker's record of the send), park it; record_results
-- applies it. Returns {activity id or '', applied (0/1/-1 parked)}.
-- ARGV: prefix, provider id, status, at_ms, error code
local prefix, sid = ARGV[1], ARGV[2]
local id = redis.call('GET', prefix .. ':sid:' .. sid)
if not id then
  local early = prefix .. ':sid:' .. sid .. ':early'
  redis.call('RPUSH', early, cjson.encode({status = ARGV[3], at = tonumber(ARGV[4]), error_code = ARGV[5]}))
  redis.call('EXPIRE', early, 86400)
  return {'', -1}
end
local applied = apply_status(prefix, id, ARGV[3], ARGV[4], ARGV[5], 'callback')
return {id, applied or 0}
