-- requires: lib
-- A worker takes a batch of jobs: queued activities become `sending` before
-- any provider call. One already `sending` without a provider id was taken
-- by a worker that died mid-send: the caller must ask the provider before it
-- sends again ('recover'). Anything else needs no send ('done').
-- KEYS: archive stream
-- ARGV: prefix, now_ms, activity ids...
local prefix, now = ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local akey = prefix .. ':act:' .. id
  local f = redis.call('HMGET', akey, 'status', 'sid', 'to', 'from', 'body', 'channel',
                       'content_sid', 'content_vars', 'created', 'type')
  local state = 'done'
  if f[1] == 'queued' then
    apply_status(prefix, id, 'sending', now, '', 'worker')
    state = 'send'
  elseif f[1] == 'sending' and (not f[2] or f[2] == '') then
    state = 'recover'
  end
  out[#out + 1] = {id, state, f[3] or '', f[4] or '', f[5] or '', f[6] or '',
                   f[7] or '', f[8] or '', f[9] or '0', f[10] or ''}
end
if #ARGV > 2 then redis.call('XADD', KEYS[1], '*', 'ids', table.concat(ARGV, ' ', 3)) end
return out
