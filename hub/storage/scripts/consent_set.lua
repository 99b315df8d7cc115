-- An opt-out or opt-in through the API, with its ledger entry in the same
-- step. An opt-in also clears an erased customer's hashed opt-out.
-- It goes on the event feed when an endpoint subscribes to it (see lib.lua feed).
-- KEYS: opt-out set, hashed opt-out set, consent state hash, archive stream,
--       event types subscribed to, event log
-- ARGV: number, its hash or '', opt_out | opt_in, ledger entry json, channel id, at_ms
local number, hash, action = ARGV[1], ARGV[2], ARGV[3]
if action == 'opt_out' then
  redis.call('SADD', KEYS[1], number)
  redis.call('HSET', KEYS[3], number, 'out')
else
  redis.call('SREM', KEYS[1], number)
  if hash ~= '' then redis.call('SREM', KEYS[2], hash) end
  redis.call('HSET', KEYS[3], number, 'in')
end
local etype = action == 'opt_out' and 'contact.opted_out' or 'contact.opted_in'
if KEYS[5] and redis.call('SISMEMBER', KEYS[5], etype) == 1 then
  redis.call('XADD', KEYS[6], '*', 'type', etype, 'at', ARGV[6], 'data',
             cjson.encode({phone = number, channel_id = ARGV[5], source = 'api'}))
end
return redis.call('XADD', KEYS[4], '*', 'consent', ARGV[4])
