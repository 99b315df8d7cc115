-- Accepting a send request of an org with several partitions, step 3 of 3,
-- in the org's slot, once every partition holds its share: the answer is
-- kept for replays of its idempotency key, and the request is no longer
-- being accepted.
-- KEYS: idempotency key (or the accepting record when none), accepting record, accepting index
-- ARGV: request_id, idem_hash ('' for none), idem_ttl_s, response json
if ARGV[2] ~= '' then
  local stored = redis.call('GET', KEYS[1])
  local s = stored and cjson.decode(stored)
  if s and s.hash == ARGV[2] and s.pending == ARGV[1] then
    local ttl = redis.call('TTL', KEYS[1])
    if ttl < 1 then ttl = tonumber(ARGV[3]) end
    redis.call('SET', KEYS[1], cjson.encode({hash = ARGV[2], response = ARGV[4]}), 'EX', ttl)
  end
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
