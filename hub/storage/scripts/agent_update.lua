-- requires: lib routing_lib
-- An admin changes an agent's capacity and/or queues. The agent leaves its
-- old queues' candidate sets, joins the new ones if it has room, and is
-- offered waiting work at once (a raised capacity or a new queue).
-- ARGV: prefix, agent id, capacity ('' keeps it), queues as JSON ('' keeps them), now_ms
local prefix, agent, capacity, queues, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local akey = KEY.agent(prefix, agent)
if redis.call('EXISTS', akey) == 0 then return {'missing'} end
if redis.call('HEXISTS', akey, 'deactivated_at') == 1 then return {'deactivated'} end
for _, q in ipairs(agent_queues(prefix, agent)) do redis.call('ZREM', KEY.queue_agents(prefix, q), agent) end
if capacity ~= '' then redis.call('HSET', akey, 'capacity', capacity) end
if queues ~= '' then redis.call('HSET', akey, 'queues', queues) end
refresh_agent(prefix, agent)
if redis.call('HGET', akey, 'presence') == 'available' then drain_agent_queues(prefix, agent, now) end
archive_changes(prefix)
return {'ok'}
