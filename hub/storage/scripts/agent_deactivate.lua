-- requires: lib routing_lib
-- An admin deactivates an agent: it goes offline (its open conversations
-- go back to their queues, to other agents), leaves every queue, and stays
-- listed as deactivated. Deactivating twice changes nothing.
-- ARGV: prefix, agent id, now_ms
local prefix, agent, now = ARGV[1], ARGV[2], ARGV[3]
local akey = KEY.agent(prefix, agent)
if redis.call('EXISTS', akey) == 0 then return {'missing'} end
if redis.call('HEXISTS', akey, 'deactivated_at') == 1 then return {'ok', '0'} end
local moved = set_offline(prefix, agent, now)
redis.call('HSET', akey, 'deactivated_at', now)
redis.call('SREM', KEY.agents_online(prefix), agent)
redis.call('ZREM', KEY.agents_gone(prefix), agent)
archive_changes(prefix)
return {'ok', tostring(moved)}
