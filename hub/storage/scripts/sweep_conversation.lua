-- Drop a closed conversation whose last change is safely in SQL: only when
-- its version in Redis is the archived one (a change not yet archived bumps
-- it, and then nothing is dropped) and no agent's reply still waits for the
-- provider. Its messages leave the contact's timeline index, and the reply
-- jobs already done go too. What correlates a later reply stays: the
-- customer's last-conversation pointer (previous_conversation_id), the
-- provider-id pointers of the replies (late callbacks) and the contact.
-- Returns 1 when dropped, 0 when kept (or already gone).
-- KEYS: conversation hash, its messages, its reply statuses, org index,
--       the customer's timeline, then the reply job of each outbound message
-- ARGV: conversation id, archived version
local c = redis.call('HMGET', KEYS[1], 'status', 'v')
if c[1] ~= 'closed' or c[2] ~= ARGV[2] then return 0 end
local statuses = redis.call('HVALS', KEYS[3])
for _, raw in ipairs(statuses) do
  if cjson.decode(raw).status == 'queued' then return 0 end
end
for _, raw in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  redis.call('ZREM', KEYS[5], 'msg:' .. ARGV[1] .. ':' .. cjson.decode(raw).id)
end
for i = 6, #KEYS do
  if redis.call('HGET', KEYS[i], 'status') == 'done' then redis.call('DEL', KEYS[i]) end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
