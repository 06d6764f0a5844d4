#!lua
-- v2 prototype fetch. KEYS: jobs, avail, leases, paused, seq ; ARGV: now, lease_until, limit, worker
local jobs, avail, leases = KEYS[1], KEYS[2], KEYS[3]
local now, lease_until, limit, worker = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
if redis.call('GET', KEYS[4]) == '1' then return {} end
local ids = redis.call('ZRANGE', avail, 0, limit - 1)
local n = #ids
if n == 0 then return {} end
redis.call('ZREM', avail, unpack(ids))
local last = redis.call('INCRBY', KEYS[5], n)
local names = {}
for i = 1, n do names[2 * i - 1], names[2 * i] = ids[i], ids[i] .. ':a' end
local f = redis.call('HMGET', jobs, unpack(names))
local kv, out = {}, {}
local tail = ' ' .. lease_until .. ' ' .. now .. ' ' .. worker
for i = 1, n do
  local tok = last - n + i
  kv[2 * i - 1], kv[2 * i] = ids[i], tok .. tail
  local o = #out
  out[o + 1], out[o + 2], out[o + 3], out[o + 4] = ids[i], f[2 * i - 1], f[2 * i], tok
end
redis.call('HSET', leases, unpack(kv))
return out
