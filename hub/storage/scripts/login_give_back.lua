-- Give back a counted sign-in attempt (the password was right), except where
-- a window ended meanwhile (a plain DECR would leave a key with no expiry).
-- KEYS: the attempt's failure counters
for _, key in ipairs(KEYS) do
  if redis.call('PTTL', key) > 0 then redis.call('DECR', key) end
end
return 0
