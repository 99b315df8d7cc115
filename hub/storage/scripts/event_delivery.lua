-- What became of a delivery attempt, recorded only by the process that
-- holds the endpoint's lease (so two processes never move one cursor).
-- 'ok': the receiver took events up to the cursor; 'skip': events up to the
-- cursor are not for this endpoint; 'fail': it did not, try again at next_at.
-- Returns 1, or 0 when the lease is no longer ours.
-- KEYS: lease, delivery hash
-- ARGV: owner, op, cursor or '', now_ms, next attempt ms, error
local owner, op = ARGV[1], ARGV[2]
if redis.call('GET', KEYS[1]) ~= owner then return 0 end
if op == 'ok' then
  redis.call('HSET', KEYS[2], 'cursor', ARGV[3], 'failures', 0, 'next_at', 0, 'last_success_at', ARGV[4])
elseif op == 'skip' then
  redis.call('HSET', KEYS[2], 'cursor', ARGV[3])
else
  redis.call('HINCRBY', KEYS[2], 'failures', 1)
  redis.call('HSET', KEYS[2], 'next_at', ARGV[5], 'last_error', ARGV[6], 'last_failure_at', ARGV[4])
end
return 1
