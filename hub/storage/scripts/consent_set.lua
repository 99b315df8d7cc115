-- An opt-out or opt-in through the API, with its ledger entry in the same
-- step. An opt-in also clears an erased customer's hashed opt-out.
-- KEYS: opt-out set, hashed opt-out set, consent state hash, archive stream
-- ARGV: number, its hash or '', opt_out | opt_in, ledger entry json
local number, hash, action = ARGV[1], ARGV[2], ARGV[3]
if action == 'opt_out' then
  redis.call('SADD', KEYS[1], number)
  redis.call('HSET', KEYS[3], number, 'out')
else
  redis.call('SREM', KEYS[1], number)
  if hash ~= '' then redis.call('SREM', KEYS[2], hash) end
  redis.call('HSET', KEYS[3], number, 'in')
end
return redis.call('XADD', KEYS[4], '*', 'consent', ARGV[4])
