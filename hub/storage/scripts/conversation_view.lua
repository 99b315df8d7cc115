-- requires: lib routing_lib
-- Conversations as the API and the agent websocket show them.
-- ARGV: prefix, with messages ('1'/'0'), conversation ids...
local out = {}
for i = 3, #ARGV do
  local c = conversation(ARGV[1], ARGV[i], ARGV[2] == '1')
  if c then out[#out + 1] = cjson.encode(c) end
end
return out
