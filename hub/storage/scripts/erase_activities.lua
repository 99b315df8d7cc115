-- Redact a customer's activities in Redis, one page of the org's activity
-- index at a time (an erasure is rare; no index by number is kept for it):
-- the body and the customer's details go, the record stays (status, time,
-- number) for the reports. An activity still waiting for the provider
-- (queued, held by quiet hours, sending) is left whole, and counted: it is
-- sent as accepted.
-- KEYS: the org's slot
-- ARGV: prefix, number, after score ('' from the start), after id, page size
-- Returns {next score or '', next id, redacted ids json, in flight}
local prefix, customer, after, after_id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local size = tonumber(ARGV[5])
local rows = redis.call('ZRANGEBYSCORE', KEY.activities(prefix), after == '' and '-inf' or after, '+inf',
                        'WITHSCORES', 'LIMIT', 0, size)
local redacted, in_flight = {}, 0
local last_score, last_id = '', ''
for i = 1, #rows, 2 do
  local id, score = rows[i], rows[i + 1]
  -- Members of equal score come in id order: skip those the last page had.
  if not (score == after and id <= after_id) then
    local akey = KEY.activity(prefix, id)
    local a = redis.call('HMGET', akey, 'to', 'status', 'erased')
    if a[1] == customer and a[3] ~= '1' then
      if a[2] == 'queued' or a[2] == 'deferred' or a[2] == 'sending' then
        in_flight = in_flight + 1
      else
        redis.call('HSET', akey, 'body', '', 'customer', '', 'case', '', 'content_vars', '', 'erased', '1')
        redacted[#redacted + 1] = id
      end
    end
  end
  last_score, last_id = score, id
end
if #rows < size * 2 then last_score = '' end
return {last_score, last_id, cjson.encode(redacted), in_flight}
