-- requires: lib routing_lib
-- One page of the org's conversations, newest first, optionally by status
-- (at most `budget` examined per call), with their index scores. Cursor:
-- score|member of the last one examined.
-- ARGV: prefix, status or '', cursor score or '+inf', cursor member, limit, budget
local prefix, want, max, after = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local limit, budget = tonumber(ARGV[5]), tonumber(ARGV[6])
local key = KEY.conversations(prefix)
local items, scores, examined, offset = {}, {}, 0, 0
local last = ''
while #items < limit and examined < budget do
  local batch = redis.call('ZREVRANGEBYSCORE', key, max, '-inf', 'WITHSCORES', 'LIMIT', offset, 100)
  if #batch == 0 then return {items, '', scores} end
  for j = 1, #batch, 2 do
    local member, score = batch[j], batch[j + 1]
    if not (after ~= '' and score == max and member >= after) then
      examined = examined + 1
      last = score .. '|' .. member
      local st = redis.call('HGET', KEY.conversation(prefix, member), 'status')
      if st and (want == '' or st == want) then
        items[#items + 1] = cjson.encode(conversation(prefix, member, false))
        scores[#scores + 1] = score
      end
      if #items >= limit or examined >= budget then break end
    end
  end
  offset = offset + 100
end
return {items, last, scores}
