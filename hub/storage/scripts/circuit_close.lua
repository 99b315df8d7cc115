-- The provider answered on this channel: its circuit closes and the count of
-- failures in a row starts again.
-- KEYS: circuit hash, open circuits sorted set
-- ARGV: channel id
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
