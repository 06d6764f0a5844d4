-- job_heartbeat_many: extends the leases of one queue's running jobs that are still held under
-- the presented tokens.
--
-- KEYS[1] anp:{<queue>}:jobs     hash: job records
-- KEYS[2] anp:{<queue>}:running  zset: running jobs by lease expiry (µs)
-- KEYS[3] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- ARGV[1] lease_until, µs (new expiry)
-- ARGV[2] n, the number of leases; then 2 ARGV per lease: id, lease token
-- Returns: one integer per lease, in input order: 1 still held (extended), 0 lost.
-- Errors:  ANP_CORRUPT when a record cannot be read.

local jobs, running = KEYS[1], KEYS[2]
export_open(KEYS[3])
local lease_until = ARGV[1]
local n = tonumber(ARGV[2])
local out = {}
for i = 0, n - 1 do
  local id, token = ARGV[3 + i * 2], ARGV[4 + i * 2]
  local j = job_load(jobs, id)
  if j and j.state == 'running' and j.token == token then
    j.lease_expires_at = lease_until
    job_save(jobs, id, j)
    redis.call('ZADD', running, lease_until, id)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
