-- requires: lib routing_lib
-- What the provider answered for an agent's reply. Callbacks that beat this
-- record (parked under the provider id) are applied here.
-- ARGV: prefix, conversation, message id, outcome, provider id, error code, now_ms, retention_s
local prefix, conv, msg, outcome, sid, code = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if outcome == 'accepted' then
  redis.call('SET', prefix .. ':sid:' .. sid, 'm|' .. conv .. '|' .. msg, 'EX', tonumber(ARGV[8]))
  set_message_status(prefix, conv, msg, 'sending', '')
  local early = prefix .. ':sid:' .. sid .. ':early'
  for _, raw in ipairs(redis.call('LRANGE', early, 0, -1)) do
    local e = cjson.decode(raw)
    set_message_status(prefix, conv, msg, e.status, e.error_code or '')
  end
  redis.call('DEL', early)
else
  set_message_status(prefix, conv, msg, outcome, code)
end
return 1
