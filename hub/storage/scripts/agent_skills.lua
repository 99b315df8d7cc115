-- requires: lib routing_lib
-- Set an agent's skills (JSON skill → level); work it now qualifies for is
-- offered to it at once.
-- ARGV: prefix, agent id, skills json, now_ms
local prefix, agent, skills, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local akey = KEY.agent(prefix, agent)
if redis.call('EXISTS', akey) == 0 then return {'missing'} end
redis.call('HSET', akey, 'skills', skills)
drain_agent_queues(prefix, agent, now)
archive_changes(prefix)
return {'ok'}
