-- Drop the events older than the retention from an org's log, and keep the
-- id of the newest event dropped: a cursor before it has missed events that
-- are gone (GET /v1/events answers 410 for it, the deliverer records a loss).
-- Returns the number of events left.
-- KEYS: event log, floor
-- ARGV: minimum id kept
local gone = redis.call('XREVRANGE', KEYS[1], '(' .. ARGV[1], '-', 'COUNT', 1)
if #gone > 0 then
  redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
  redis.call('SET', KEYS[2], gone[1][1])
end
return redis.call('XLEN', KEYS[1])
