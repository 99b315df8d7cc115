-- requires: lib routing_lib
-- Record what the provider answered for a batch of sends and acknowledge the
-- jobs, in one step so a crash cannot ack a send whose outcome is unknown.
-- Status callbacks that arrived before the provider id was stored (they
-- raced the provider's answer) are parked under the id and applied here.
-- A send to be tried again leaves the stream for the retry sorted set (due
-- at its next attempt) in the same step, so it is never lost nor doubled.
-- Jobs are activities or agents' replies (msg_…: the outcome goes on the
-- conversation message, and the agent hears of it).
-- KEYS: the stream the batch came from, the retry sorted set, the archive stream
-- ARGV: prefix, now_ms, group, retention_s, correlation window ms, then 9 per
--       result: job id, stream entry id, outcome, provider id, error code,
--       detail, next attempt ms, attempts, retry state
local prefix, now, group = ARGV[1], ARGV[2], ARGV[3]
local retention, window = tonumber(ARGV[4]), tonumber(ARGV[5])
local RETRY_FIELDS = {'retry_n', 'retry_at', 'retry_err', 'rstate'}
local RECENT, SID_TAIL = 5, 10  -- hub.domain.correlation.RECENT_MESSAGES, SID_TAIL

local function apply_early(sid, apply)
  local early = KEY.early_callbacks(prefix, sid)
  for _, raw in ipairs(redis.call('LRANGE', early, 0, -1)) do
    local e = cjson.decode(raw)
    apply(e)
  end
  redis.call('DEL', early)
end

local function record_activity(id, outcome, sid, code, detail)
  local akey = KEY.activity(prefix, id)
  if outcome == 'accepted' then
    redis.call('HSET', akey, 'sid', sid)
    redis.call('HDEL', akey, unpack(RETRY_FIELDS))
    redis.call('SET', KEY.provider_message(prefix, sid), id, 'EX', retention)
    -- A reply from this customer to this number now answers this activity,
    -- unless it quotes or names one of the others recently sent to them
    -- (the last RECENT, none older than the window: see ingest_inbound).
    local a = redis.call('HMGET', akey, 'channel', 'to', 'corr')
    redis.call('SET', KEY.last_outbound(prefix, a[1], a[2]), id, 'PX', window)
    if a[3] then
      -- Entries older than the window are left for readers to skip: the list
      -- holds 5 at most and goes with its key when none is sent for a window.
      local recent = KEY.recent_outbound(prefix, a[1], a[2])
      redis.call('LPUSH', recent, now .. '\31' .. string.sub(sid, -SID_TAIL) .. '\31' .. a[3])
      redis.call('LTRIM', recent, 0, RECENT - 1)
      redis.call('PEXPIRE', recent, window)
    end
    redis.call('RPUSH', KEY.activity_history(prefix, id), cjson.encode(
      {status = 'sending', at = tonumber(now), source = 'provider', provider_status = detail}))
    apply_early(sid, function(e) apply_status(prefix, id, e.status, e.at, e.error_code or '', 'callback') end)
  elseif outcome == 'rejected' or outcome == 'failed' or outcome == 'skipped_opted_out' then
    redis.call('HDEL', akey, unpack(RETRY_FIELDS))
    apply_status(prefix, id, outcome, now, code, 'provider')
  end
end

local function record_reply(id, outcome, sid, code)
  local rkey = KEY.reply_job(prefix, id)
  local conv = redis.call('HGET', rkey, 'conv')
  if not conv then return end
  if outcome == 'accepted' then
    redis.call('HSET', rkey, 'status', 'done', 'sid', sid)
    redis.call('SET', KEY.provider_message(prefix, sid), 'm|' .. conv .. '|' .. id, 'EX', retention)
    set_message_status(prefix, conv, id, 'sending', '')
    apply_early(sid, function(e) set_message_status(prefix, conv, id, e.status, e.error_code or '') end)
  elseif outcome == 'rejected' or outcome == 'failed' then
    redis.call('HSET', rkey, 'status', 'done')
    set_message_status(prefix, conv, id, outcome, code)
  end
  redis.call('HDEL', rkey, unpack(RETRY_FIELDS))
end

for i = 6, #ARGV, 9 do
  local id, entry, outcome = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local sid, code, detail = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local acked = 1
  if entry ~= '' then
    acked = redis.call('XACK', KEYS[1], group, entry)
    redis.call('XDEL', KEYS[1], entry)
  end
  local reply = string.sub(id, 1, 4) == 'msg_'
  if outcome == 'retry' then
    -- Only the worker that still held the job schedules it (never twice).
    local key = (reply and KEY.reply_job or KEY.activity)(prefix, id)
    if acked == 1 and redis.call('HGET', key, 'status') == 'sending' then
      redis.call('HSET', key, 'retry_at', ARGV[i + 6], 'retry_n', ARGV[i + 7],
                 'retry_err', code, 'rstate', ARGV[i + 8])
      redis.call('ZADD', KEYS[2], ARGV[i + 6], id)
    end
  elseif reply then
    record_reply(id, outcome, sid, code)
  else
    record_activity(id, outcome, sid, code, detail)
  end
end
-- An activity the provider took, or whose send ended, goes to the history; a
-- retry changes nothing the history keeps yet.
local changed = {}
for i = 6, #ARGV, 9 do
  if string.sub(ARGV[i], 1, 4) == 'act_' and ARGV[i + 2] ~= 'retry' then
    changed[#changed + 1] = ARGV[i]
  end
end
local entry = {}
if #changed > 0 then entry = {'ids', table.concat(changed, ' ')} end
local convs = changed_conversations(prefix)
if convs then entry[#entry + 1] = 'conv'; entry[#entry + 1] = convs end
if #entry > 0 then redis.call('XADD', KEYS[3], '*', unpack(entry)) end
return 1
