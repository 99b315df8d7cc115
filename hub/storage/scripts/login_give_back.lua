-- Give back one counted sign-in attempt, unless its window has ended
-- meanwhile (a plain DECR would then leave a key with no expiry).
-- KEYS: failure counter
if redis.call('PTTL', KEYS[1]) > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
