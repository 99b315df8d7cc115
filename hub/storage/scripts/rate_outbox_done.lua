-- The requests of a partition's rate outbox now counted in the org's
-- rolling-hour set leave the outbox, unless released again meanwhile (a
-- newer time, still to be counted).
-- KEYS: the partition's rate outbox
-- ARGV: request id, time it was counted at (ms), ...
local removed = 0
for i = 1, #ARGV, 2 do
  local current = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if current and tonumber(current) == tonumber(ARGV[i + 1]) then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed
