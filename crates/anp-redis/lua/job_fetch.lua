-- job_fetch: leases up to `limit` available jobs of one queue, highest priority first (lowest
-- number), FIFO (run_at in ms, then id) within a priority, unless the queue is paused. Each job
-- gets its own fencing token from anp:{<queue>}:lease_seq and one more attempt.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records
-- KEYS[2] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[3] anp:{<queue>}:running    zset: running jobs by lease expiry (µs)
-- KEYS[4] anp:{<queue>}:paused     string: "1" while the queue is paused
-- KEYS[5] anp:{<queue>}:lease_seq  string: the last fencing token issued (INCRBY)
-- KEYS[6] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- ARGV[1] now, µs (becomes attempted_at)
-- ARGV[2] lease_until, µs (lease expiry)
-- ARGV[3] limit, at most this many jobs
-- ARGV[4] worker id, recorded as lease owner
-- Returns: one entry per leased job, in fetch order: {id, record, args, errors, unique key}.
-- Errors:  ANP_CORRUPT when a record cannot be read.

local jobs, avail, running, paused, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
export_open(KEYS[6])
local now, lease_until, limit, worker = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]

if limit <= 0 or redis.call('GET', paused) == '1' then
  return {}
end
local popped = redis.call('ZPOPMIN', avail, limit)
local n = #popped / 2
if n == 0 then
  return {}
end
local last = redis.call('INCRBY', seq, n)
local out = {}
for i = 1, n do
  local id = popped[2 * i - 1]
  local j = job_load(jobs, id)
  if j then
    j.state = 'running'
    j.attempt = j.attempt + 1
    j.attempted_at = now
    j.token = string.format('%d', last - n + i)
    j.lease_expires_at = lease_until
    j.owner = worker
    job_save(jobs, id, j)
    redis.call('ZADD', running, lease_until, id)
    out[#out + 1] = job_reply(jobs, id)
  end
end
return out
