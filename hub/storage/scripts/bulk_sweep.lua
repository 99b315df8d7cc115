-- Drop some chunks' outcomes and contacts of a finished bulk job whose copy
-- in SQL is complete, unless the job changed since that copy (its version,
-- as hub.storage.bulk_jobs.version_of computes it). The summary stays.
-- KEYS: job hash, then the chunks' result and contact keys
-- ARGV: version of the archived copy
local f = redis.call('HMGET', KEYS[1], 'next', 'status')
if f[1] then
  local final = 0
  if f[2] == 'done' or f[2] == 'failed' or f[2] == 'canceled' then final = 1 end
  if 2 * tonumber(f[1]) + final ~= tonumber(ARGV[1]) then return 0 end
end
if #KEYS > 1 then redis.call('DEL', unpack(KEYS, 2)) end
return 1
