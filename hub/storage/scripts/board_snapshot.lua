-- The supervisors' board as Redis holds it, read in one step (so its counts
-- agree with each other): every agent with its open conversations, and
-- each queue's waiting conversations (the first `limit` by arrival). The
-- aggregates are computed in Python (hub.domain.board).
-- ARGV: prefix, limit per queue
local prefix, limit = ARGV[1], tonumber(ARGV[2])

local function conv_row(id, ...)
  local f = redis.call('HMGET', KEY.conversation(prefix, id), 'customer', 'type', 'created', 'assigned', 'queue', ...)
  return {id = id, customer = f[1] or '', channel_type = f[2] or '', created = tonumber(f[3] or '0'),
          assigned = tonumber(f[4] or '0'), queue = f[5] or ''}
end

local agents, queues = {}, {}
for _, id in ipairs(redis.call('ZRANGE', KEY.records(prefix, 'agent'), 0, -1)) do
  local f = redis.call('HMGET', KEY.agent(prefix, id), 'name', 'role', 'presence', 'presence_at', 'open',
                       'capacity', 'queues', 'deactivated_at')
  if f[1] and not f[8] then  -- a deactivated agent is off the board for good
    local convs = {}
    for _, conv in ipairs(redis.call('SMEMBERS', KEY.agent_conversations(prefix, id))) do
      convs[#convs + 1] = conv_row(conv)
    end
    local served = cjson.decode(f[7] or '[]')
    for _, q in ipairs(served) do queues[q] = true end
    agents[#agents + 1] = {
      id = id, name = f[1], role = f[2] or 'agent', presence = f[3] or 'offline',
      presence_at = tonumber(f[4] or '0'), open = tonumber(f[5] or '0'), capacity = tonumber(f[6] or '0'),
      queues = served, conversations = convs,
      in_grace = redis.call('ZSCORE', KEY.agents_gone(prefix), id) ~= false,
    }
  end
end
for _, q in ipairs(redis.call('SMEMBERS', KEY.queues(prefix))) do queues[q] = true end
local waiting = {}
for q, _ in pairs(queues) do
  local rows = {}
  for _, conv in ipairs(redis.call('ZRANGE', KEY.queue_waiting(prefix, q), 0, limit - 1)) do
    rows[#rows + 1] = conv_row(conv)
  end
  waiting[#waiting + 1] = {name = q, count = redis.call('ZCARD', KEY.queue_waiting(prefix, q)), conversations = rows}
end
return cjson.encode({agents = agents, queues = waiting})
