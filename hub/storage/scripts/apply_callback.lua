-- requires: lib routing_lib
-- A provider status callback, for an outbound activity or an agent's reply.
-- When the provider id is not known (the callback beat the worker's record
-- of the send, or the activity left Redis with its pointer once its hot
-- window passed), park it, for the record to apply, and hand it to the
-- archiver too, which applies it in SQL if SQL holds an activity with that
-- provider id that is no longer in Redis.
-- When a conversation's record has left Redis, the callback goes to the
-- archive stream, and the archiver applies it in SQL.
-- Returns {activity id or '', applied (0/1, -1 when parked, -2 when handed to the archiver)}.
-- KEYS: archive stream
-- ARGV: prefix, provider id, status, at_ms, error code
local prefix, sid = ARGV[1], ARGV[2]
local target = redis.call('GET', KEY.provider_message(prefix, sid))
if not target then
  local early = KEY.early_callbacks(prefix, sid)
  for _, raw in ipairs(redis.call('LRANGE', early, 0, -1)) do
    local e = cjson.decode(raw)
    if e.status == ARGV[3] and (e.error_code or '') == ARGV[5] then return {'', -1} end
  end
  redis.call('RPUSH', early, cjson.encode({status = ARGV[3], at = tonumber(ARGV[4]), error_code = ARGV[5]}))
  redis.call('EXPIRE', early, 86400)
  redis.call('XADD', KEYS[1], '*', 'sidlate', cjson.encode(
    {sid = sid, status = ARGV[3], at = tonumber(ARGV[4]), error_code = ARGV[5]}))
  return {'', -1}
end
if string.sub(target, 1, 2) == 'm|' then
  local _, _, conv, msg = string.find(target, '^m|([^|]+)|(.+)$')
  local moved = set_message_status(prefix, conv, msg, ARGV[3], ARGV[5])
  if moved == nil then
    -- The conversation has left Redis: the archiver applies it in SQL.
    redis.call('XADD', KEYS[1], '*', 'mlate', cjson.encode(
      {conv = conv, msg = msg, status = ARGV[3], at = tonumber(ARGV[4]), error_code = ARGV[5]}))
    return {'', -2}
  end
  archive_changes(prefix)
  return {'', moved}
end
local applied = apply_status(prefix, target, ARGV[3], ARGV[4], ARGV[5], 'callback')
if applied == nil then
  redis.call('XADD', KEYS[1], '*', 'late', cjson.encode(
    {id = target, status = ARGV[3], at = tonumber(ARGV[4]), error_code = ARGV[5]}))
  return {target, -2}
end
-- A status that moved goes to the history too (a `sent` may be the last
-- word for days), so that SQL and the report never lag Redis' status.
if applied == 1 or archive_now(prefix, target) then
  redis.call('XADD', KEYS[1], '*', 'ids', target)
end
return {target, applied or 0}
