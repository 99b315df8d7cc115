-- Count one sign-in attempt against each of its budgets, all or nothing: when
-- any budget is spent nothing is counted and the caller is told how long to
-- wait, so concurrent attempts can never push a counter past its limit.
-- KEYS: one failure counter per budget (all under the {login} hash tag)
-- ARGV: limit, window_ms for each key, in KEYS order
-- Returns 0 when counted, else the ms until the longest spent budget resets.
local wait = 0
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  if tonumber(redis.call('GET', key) or '0') >= limit then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      redis.call('PEXPIRE', key, window)
      ttl = window
    end
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, 0, 'PX', ARGV[2 * i], 'NX')
  redis.call('INCR', key)
end
return 0
