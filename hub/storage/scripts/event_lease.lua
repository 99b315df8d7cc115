-- Take, renew or give back the lease on delivering to one endpoint.
-- Returns 1 when the caller holds it (or gave it back), else 0.
-- KEYS: lease
-- ARGV: owner, op (take | renew | release), lease ms
local owner, op = ARGV[1], ARGV[2]
local holder = redis.call('GET', KEYS[1])
if op == 'take' then
  if holder and holder ~= owner then return 0 end
  redis.call('SET', KEYS[1], owner, 'PX', ARGV[3])
  return 1
elseif op == 'renew' then
  if holder ~= owner then return 0 end
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
if holder == owner then redis.call('DEL', KEYS[1]) end
return 1
