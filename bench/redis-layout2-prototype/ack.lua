#!lua
-- v2 prototype ack (completes only). KEYS: jobs, leases, done, stats, minutes ; ARGV: now, minute, n, then per ack id, token, outcome, record
local jobs, leases, done = KEYS[1], KEYS[2], KEYS[3]
local n = tonumber(ARGV[3])
local ids = {}
for i = 1, n do ids[i] = ARGV[4 * i] end
local l = redis.call('HMGET', leases, unpack(ids))
local find, sub = string.find, string.sub
local out, del, kv, w = {}, {}, {}, 0
for i = 1, n do
  local b = 4 * i
  local cur, res = l[i], 0
  if cur then
    local sp = find(cur, ' ', 1, true)
    if sp and sub(cur, 1, sp - 1) == ARGV[b + 1] then
      w = w + 1
      del[w] = ids[i]
      kv[2 * w - 1], kv[2 * w] = ids[i], ARGV[b + 3]
      res = 1
    end
  end
  out[i] = res
end
if w > 0 then
  redis.call('HDEL', leases, unpack(del, 1, w))
  redis.call('HSET', jobs, unpack(kv, 1, 2 * w))
  redis.call('RPUSH', done, unpack(del, 1, w))
end
redis.call('HINCRBY', KEYS[4], ARGV[2] .. ':noop:completed', w)
redis.call('ZADD', KEYS[5], ARGV[2], ARGV[2] .. ':noop')
return out
