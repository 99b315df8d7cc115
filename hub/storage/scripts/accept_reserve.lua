-- requires: lib accept_lib
-- Accepting a send request of an org with several partitions, step 1 of 3
-- (hub.storage.activities.ActivityStore.accept_partitioned), in the org's
-- slot: the idempotency key, the rolling-hour limit and the contacts'
-- opt-ins, as accept_send does them, and the request recorded as being
-- accepted (its activities by partition and its answer), so that step 2
-- (accept_part, one call per partition) and step 3 (accept_finish) can be
-- run again, by a replay of the key or by the recovery loop, after a crash.
-- Nothing is written when the request is refused.
-- KEYS: rate zset, idempotency key (or the accepting record when none), accepting record,
--       accepting index, archive stream
-- ARGV: prefix, now_ms, window_ms, limit, request_id, idem_hash, idem_ttl_s,
--       record json ({response, parts}), consents json ([[channel, phone, activity id], ...]),
--       count_now ('1', or '0' for a request that sends nothing now but holds
--       messages for their quiet hours: it counts as they are released)
local prefix, now = ARGV[1], tonumber(ARGV[2])
local window, limit = tonumber(ARGV[3]), tonumber(ARGV[4])

local earlier = idempotent_answer(KEYS[2], ARGV[6], true)
if earlier then return earlier end
local limited = rolling_limit(KEYS[1], now, window, limit, ARGV[5], ARGV[10] == '1')
if limited then return limited end

redis.call('SET', KEYS[3], ARGV[8], 'EX', tonumber(ARGV[7]))
redis.call('ZADD', KEYS[4], now, ARGV[5])
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[2], cjson.encode({hash = ARGV[6], pending = ARGV[5]}), 'EX', tonumber(ARGV[7]))
end

local consents = {}
for _, c in ipairs(cjson.decode(ARGV[9])) do
  record_opt_in(prefix, c[1], c[2], c[3], ARGV[2], consents)
end
if #consents > 0 then redis.call('XADD', KEYS[5], '*', 'consent', cjson.encode(consents)) end
return {'ok'}
