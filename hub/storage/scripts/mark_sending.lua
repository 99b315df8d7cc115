-- requires: lib
-- A worker takes a batch of jobs: queued activities (act_…) and agents'
-- replies (msg_…, whose send state is in the reply job hash) become `sending`
-- before any provider call. One already `sending` without a provider id was
-- either waiting on a retry, in which case 'rstate' says how its last attempt
-- ended ('send': the provider surely did not take it; 'recover': it may
-- have), or taken by a worker that died mid-send ('recover'): the caller must
-- ask the provider before it sends again. 'rstate' is dropped as the job is
-- taken, so a worker dying during this attempt leaves it to be recovered.
-- Anything else needs no send ('done').
-- KEYS: the org's archive stream (unused: `sending` is not archived on its
-- own, see lib.lua archive_now; it names the org's slot)
-- ARGV: prefix, now_ms, job ids...
local prefix, now = ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local reply = string.sub(id, 1, 4) == 'msg_'
  local key = (reply and KEY.reply_job or KEY.activity)(prefix, id)
  local f = redis.call('HMGET', key, 'status', 'sid', 'to', 'from', 'body', 'channel',
                       'content_sid', 'content_vars', 'created', 'type',
                       'first_try', 'retry_n', 'retry_err', 'rstate', 'media')
  local state = 'done'
  if f[1] == 'queued' then
    if reply then
      redis.call('HSET', key, 'status', 'sending')
    else
      apply_status(prefix, id, 'sending', now, '', 'worker')
    end
    redis.call('HSET', key, 'first_try', now)
    f[11] = now
    state = 'send'
  elseif f[1] == 'sending' and (not f[2] or f[2] == '') then
    state = f[14] or 'recover'
    if f[14] then redis.call('HDEL', key, 'rstate') end
  end
  out[#out + 1] = {id, state, f[3] or '', f[4] or '', f[5] or '', f[6] or '',
                   f[7] or '', f[8] or '', f[9] or '0', f[10] or '',
                   f[11] or f[9] or '0', f[12] or '0', f[13] or '', f[15] or ''}
end
return out
