-- The ids of an org's activities whose Redis record may be ahead of SQL, for
-- the report (read only, atomic, so an id moving from one to the next is
-- seen): waiting for a retry, held by quiet hours, waiting to be sent (not
-- archived before the provider takes them), and with changes waiting in the
-- archive stream.
-- KEYS: retry sorted set, outbound stream, archive stream, deferred sorted set
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do ids[#ids + 1] = id end
for _, stream in ipairs({KEYS[2], KEYS[3]}) do
  for _, entry in ipairs(redis.call('XRANGE', stream, '-', '+')) do
    local fields = entry[2]
    for i = 1, #fields, 2 do
      if fields[i] == 'a' or fields[i] == 'ids' then ids[#ids + 1] = fields[i + 1] end
    end
  end
end
return ids
