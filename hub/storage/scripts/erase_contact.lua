-- Erase a customer's conversations and what points at them, in one step:
-- each conversation of theirs still in Redis (found from the timeline and
-- the open and last-conversation pointers) with its messages, reply
-- statuses and finished reply jobs; the timeline; the correlation pointers;
-- the contact's hash; the customer in the agents' served sets. Opt-outs are kept as the number's hash (the
-- tombstone): the number leaves the opt-out set for the hashed one, which
-- the send path and inbound ingest check. Refuses, changing nothing, while a
-- conversation of theirs is still open (the caller closes it first, so its
-- agent is told as for any close).
-- KEYS: the org's slot (every key is built from the prefix)
-- ARGV: prefix, number, its hash, channel ids (JSON array), agent ids (JSON array)
-- Returns {'open', ids json} or {'ok', conversation ids json, message ids json,
--          timeline entries, opt-outs kept}
local prefix, customer, hash = ARGV[1], ARGV[2], ARGV[3]
local channels = cjson.decode(ARGV[4])
local agents = cjson.decode(ARGV[5])

local found, seen = {}, {}
local function note(conv)
  if conv and conv ~= '' and not seen[conv] then
    seen[conv] = true
    found[#found + 1] = conv
  end
end
local tkey = KEY.timeline(prefix, customer)
for _, member in ipairs(redis.call('ZRANGE', tkey, 0, -1)) do
  if string.sub(member, 1, 4) == 'msg:' then note(string.match(member, '^msg:([^:]+):')) end
end
for _, ch in ipairs(channels) do
  note(redis.call('GET', KEY.open_conversation(prefix, ch, customer)))
  note(redis.call('GET', KEY.last_conversation(prefix, ch, customer)))
end

local mine, open = {}, {}
for _, conv in ipairs(found) do
  local c = redis.call('HMGET', KEY.conversation(prefix, conv), 'customer', 'status')
  if c[1] == customer then
    mine[#mine + 1] = conv
    if c[2] ~= 'closed' then open[#open + 1] = conv end
  end
end
if #open > 0 then return {'open', cjson.encode(open)} end

local messages = {}
for _, conv in ipairs(mine) do
  local ckey = KEY.conversation(prefix, conv)
  for _, raw in ipairs(redis.call('LRANGE', KEY.conversation_messages(prefix, conv), 0, -1)) do
    local m = cjson.decode(raw)
    messages[#messages + 1] = m.id
    if m.direction == 'outbound' then
      local job = KEY.reply_job(prefix, m.id)
      if redis.call('HGET', job, 'status') == 'done' then redis.call('DEL', job) end
    end
  end
  redis.call('DEL', ckey, KEY.conversation_messages(prefix, conv), KEY.conversation_reply_statuses(prefix, conv))
  redis.call('ZREM', KEY.conversations(prefix), conv)
end

local kept = 0
for _, ch in ipairs(channels) do
  redis.call('DEL', KEY.open_conversation(prefix, ch, customer), KEY.last_conversation(prefix, ch, customer),
             KEY.last_outbound(prefix, ch, customer))
  if redis.call('SREM', KEY.opted_out(prefix, ch), customer) == 1 then
    redis.call('SADD', KEY.opted_out_hashed(prefix, ch), hash)
    kept = kept + 1
  elseif redis.call('SISMEMBER', KEY.opted_out_hashed(prefix, ch), hash) == 1 then
    kept = kept + 1
  end
  redis.call('HDEL', KEY.consent_state(prefix, ch), customer)
end
for _, agent in ipairs(agents) do redis.call('ZREM', KEY.agent_served(prefix, agent), customer) end
local entries = redis.call('ZCARD', tkey)
redis.call('DEL', tkey, KEY.contact(prefix, customer))
return {'ok', cjson.encode(mine), cjson.encode(messages), entries, kept}
