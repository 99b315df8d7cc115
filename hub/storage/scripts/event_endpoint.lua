-- Save or delete one event endpoint, and with it the set of event types the
-- org's log records (the union of its enabled endpoints' types), in one
-- step so the set never disagrees with the endpoints. A new endpoint's
-- delivery starts after the last event already in the log.
-- Returns {'ok'}, {'missing'} or {'full'}.
-- KEYS: endpoint record, endpoint index, delivery hash, event types set, event log,
--       delivery lease (deleted with the endpoint: a delivery under way records nothing)
-- ARGV: op (create | update | delete), endpoint id, record json, now_ms,
--       most endpoints, org prefix
local op, id, record, now, most, prefix = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
local exists = redis.call('EXISTS', KEYS[1]) == 1
if op ~= 'create' and not exists then return {'missing'} end
if op == 'create' then
  if redis.call('ZCARD', KEYS[2]) >= most then return {'full'} end
  redis.call('SET', KEYS[1], record)
  redis.call('ZADD', KEYS[2], now, id)
  local last = redis.call('XREVRANGE', KEYS[5], '+', '-', 'COUNT', 1)
  local cursor = (#last > 0 and last[1][1]) or '0-0'
  redis.call('HSET', KEYS[3], 'cursor', cursor, 'failures', 0, 'next_at', 0)
elseif op == 'update' then
  redis.call('SET', KEYS[1], record)
else
  redis.call('DEL', KEYS[1], KEYS[3], KEYS[6])
  redis.call('ZREM', KEYS[2], id)
end
local types = {}
for _, other in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local raw = redis.call('GET', KEY.event_endpoint(prefix, other))
  if raw then
    local e = cjson.decode(raw)
    if e.enabled then
      for _, t in ipairs(e.event_types) do types[t] = true end
    end
  end
end
redis.call('DEL', KEYS[4])
for t, _ in pairs(types) do redis.call('SADD', KEYS[4], t) end
return {'ok'}
