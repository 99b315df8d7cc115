-- requires: lib routing_lib
-- Websocket connections of an agent, on any hub process, as a sorted set
-- scored by heartbeat: a process that died without closing its sockets
-- stops counting after `stale_ms`.
--   open:  count the connection; an offline agent becomes available.
--   beat:  refresh the connection's heartbeat.
--   close: forget the connection.
--   sweep: with no live connection, start the grace period, and once it has
--          passed, turn the agent offline (its conversations go to others).
-- ARGV: prefix, action, agent id, connection id, now_ms, stale_ms, grace_ms
local prefix, action, agent, conn = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now, stale, grace = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local conns = KEY.agent_connections(prefix, agent)
local online = KEY.agents_online(prefix)
local gone = KEY.agents_gone(prefix)
if action == 'open' or action == 'beat' then
  redis.call('ZADD', conns, now, conn)
  redis.call('SADD', online, agent)
  redis.call('ZREM', gone, agent)
  if action == 'open' and redis.call('HGET', KEY.agent(prefix, agent), 'presence') == 'offline'
      and redis.call('HEXISTS', KEY.agent(prefix, agent), 'deactivated_at') == 0 then
    redis.call('HSET', KEY.agent(prefix, agent), 'presence', 'available', 'presence_at', ARGV[5])
    refresh_agent(prefix, agent)
    drain_agent_queues(prefix, agent, ARGV[5])
    archive_changes(prefix)
  end
  return 'connected'
end
if action == 'close' then redis.call('ZREM', conns, conn) end
redis.call('ZREMRANGEBYSCORE', conns, '-inf', now - stale)
if redis.call('ZCARD', conns) > 0 then return 'connected' end
local since = redis.call('ZSCORE', gone, agent)
if not since then
  redis.call('ZADD', gone, now, agent)
  return 'grace'
end
if action == 'sweep' and tonumber(since) + grace <= now then
  redis.call('ZREM', gone, agent)
  redis.call('SREM', online, agent)
  if redis.call('HGET', KEY.agent(prefix, agent), 'presence') ~= 'offline' then
    set_offline(prefix, agent, ARGV[5])
    archive_changes(prefix)
    return 'offline'
  end
end
return 'grace'
