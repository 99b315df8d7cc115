-- One page of a newest-first index, optionally filtered by activity status,
-- examining at most `budget` entries so a rare status cannot stall Redis.
-- Cursor: score and member of the last item returned (scores may tie).
-- KEYS: index zset
-- ARGV: prefix, status filter or '', cursor score or '+inf', cursor member, limit, budget
local prefix, want = ARGV[1], ARGV[2]
local max, after = ARGV[3], ARGV[4]
local limit, budget = tonumber(ARGV[5]), tonumber(ARGV[6])
local items, examined = {}, 0
local last_score, last_member = nil, nil
local offset = 0
while #items < limit and examined < budget do
  local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf', 'WITHSCORES', 'LIMIT', offset, 100)
  if #batch == 0 then return {items, ''} end
  for j = 1, #batch, 2 do
    local member, score = batch[j], batch[j + 1]
    local skip = (after ~= '' and score == max and member >= after)
    if not skip then
      examined = examined + 1
      last_score, last_member = score, member
      local keep = true
      if want ~= '' then
        keep = redis.call('HGET', KEY.activity(prefix, member), 'status') == want
      end
      if keep then items[#items + 1] = member end
      if #items >= limit or examined >= budget then break end
    end
  end
  offset = offset + 100
end
if last_score == nil then return {items, ''} end
return {items, last_score .. '|' .. last_member}
