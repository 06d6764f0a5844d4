-- job_heartbeat_many: extends the leases of one queue's running jobs that are still held under
-- the presented tokens.
--
-- KEYS[1] anp:{<queue>}:jobs     hash: job records
-- KEYS[2] anp:{<queue>}:leases   hash: running jobs' leases (lib.lua, LEASES)
-- KEYS[3] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- ARGV[1] lease_until, µs (new expiry)
-- ARGV[2] n, the number of leases; then 2 ARGV per lease: id, lease token
-- Returns: one integer per lease, in input order: 1 still held (extended), 0 lost.

local jobs, leases = KEYS[1], KEYS[2]
export_open(KEYS[3])
leases_open(leases)
local lease_until = ARGV[1]
local n = tonumber(ARGV[2])
if n <= 0 then
  return {}
end
local ids = {}
for i = 1, n do
  ids[i] = ARGV[1 + i * 2]
end
local f = redis.call('HMGET', leases, unpack(ids))
local out, kv = {}, {}
for i = 1, n do
  local id, token = ids[i], ARGV[2 + i * 2]
  local tok, rest
  if f[i] then
    tok, rest = string.match(f[i], '^(-?[0-9]+) [0-9]+ (.*)$')
  end
  if tok and tok == token then
    export_keep(jobs, id)
    kv[#kv + 1] = id
    kv[#kv + 1] = tok .. ' ' .. lease_until .. ' ' .. rest
    out[i] = 1
  else
    out[i] = 0
  end
end
if #kv > 0 then
  redis.call('HSET', leases, unpack(kv))
end
return out
