-- requires: lib
-- Activities whose quiet hours are over go to the outbound stream, each
-- moved in one step (out of the deferred set, `queued` in its history, onto
-- the stream) so that none is lost or queued twice however many processes
-- run this at once. Its send request counts against the rolling-hour limit
-- from now (the request is one member of the rate set: a request whose
-- messages go out at several times counts once, as of the latest).
-- KEYS: deferred zset, outbound stream, rate zset
-- ARGV: prefix, now_ms, most to move, rate window_ms
local prefix, now = ARGV[1], tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local moved = 0
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  -- nil (expired) or 0 (no longer deferred): nothing to send.
  if apply_status(prefix, id, 'queued', now, '', 'hub') == 1 then
    redis.call('XADD', KEYS[2], '*', 'a', id)
    local req = redis.call('HGET', KEY.activity(prefix, id), 'req')
    if req then
      redis.call('ZADD', KEYS[3], now, req)
      redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[4]))
    end
    moved = moved + 1
  end
end
return {#due, moved}
