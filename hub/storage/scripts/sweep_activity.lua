-- Drop the full record of an activity whose final state is safely in SQL:
-- only when its history in Redis is exactly as long as the archived copy's
-- (a change not yet archived makes it longer, and then nothing is dropped)
-- and its status is final. Its provider-id pointer goes too: a late
-- callback then finds the activity by provider id in SQL (apply_callback.lua
-- hands it to the archiver).
-- When the customer's reply-correlation pointer names this activity, it is
-- rewritten to carry what a conversation needs of the activity (routing
-- queue, what was said), so a reply within HUB_CORRELATION_WINDOW_DAYS still
-- correlates without the record.
-- Returns 1 when dropped, 0 when kept (or already gone).
-- KEYS: activity hash, its history, org index, configuration index,
--       timeline (or the org index), correlation pointer of its channel and contact
-- ARGV: activity id, archived version, final status...
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[2]) then return 0 end
local final = false
for i = 3, #ARGV do if ARGV[i] == status then final = true end end
if not final then return 0 end
if redis.call('GET', KEYS[6]) == ARGV[1] then
  local a = redis.call('HMGET', KEYS[1], 'queue', 'body', 'cfg', 'cfg_name', 'case', 'customer',
                       'created', 'locale')
  for i = 1, 8 do a[i] = a[i] or '' end
  redis.call('SET', KEYS[6], cjson.encode({id = ARGV[1], queue = a[1], body = a[2], cfg = a[3],
    cfg_name = a[4], case = a[5], customer = a[6], created = a[7], locale = a[8]}), 'KEEPTTL')
end
local sid = redis.call('HGET', KEYS[1], 'sid')
if sid then
  -- The hash is KEY.activity(prefix, id); its provider-id pointer shares its prefix (and slot).
  local prefix = string.sub(KEYS[1], 1, #KEYS[1] - #KEY.activity('', ARGV[1]))
  local pointer = KEY.provider_message(prefix, sid)
  if redis.call('GET', pointer) == ARGV[1] then redis.call('DEL', pointer) end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], 'act:' .. ARGV[1])
return 1
