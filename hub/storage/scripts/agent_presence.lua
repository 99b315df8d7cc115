-- requires: lib routing_lib
-- Set an agent's presence. Becoming available offers it waiting work at
-- once; going offline hands its open conversations to others.
-- ARGV: prefix, agent id, presence, now_ms
local prefix, agent, presence, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local akey = KEY.agent(prefix, agent)
if redis.call('EXISTS', akey) == 0 then return {'missing'} end
if redis.call('HEXISTS', akey, 'deactivated_at') == 1 then return {'missing'} end  -- never available again
local before = redis.call('HGET', akey, 'presence') or ''
if presence == 'offline' then
  local moved = set_offline(prefix, agent, now)
  archive_changes(prefix)
  return {'ok', before, tostring(moved)}
end
redis.call('HSET', akey, 'presence', presence)
if before ~= presence then redis.call('HSET', akey, 'presence_at', now) end  -- the board's time in presence
refresh_agent(prefix, agent)
if presence == 'available' then drain_agent_queues(prefix, agent, now) end
archive_changes(prefix)
return {'ok', before, '0'}
