-- Read, for the archiver, some conversations as they are now: for each, its
-- hash (flat), its messages from a position on and its replies' send
-- statuses (flat). One call for a whole batch, atomic as the transaction it
-- replaces, and far cheaper to send and parse than three commands per
-- conversation.
-- KEYS: each conversation's hash, messages and reply statuses, in turn.
-- ARGV: for each conversation, the position of the first message to read.
local out = {}
for n = 1, #ARGV do
  local base = 3 * (n - 1)
  out[#out + 1] = redis.call('HGETALL', KEYS[base + 1])
  out[#out + 1] = redis.call('LRANGE', KEYS[base + 2], tonumber(ARGV[n]), -1)
  out[#out + 1] = redis.call('HGETALL', KEYS[base + 3])
end
return out
