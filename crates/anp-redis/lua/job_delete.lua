-- job_delete: deletes a job that is not running, and releases its unique key if the key still
-- points to it.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records, args, errors, unique keys
-- KEYS[2] anp:{<queue>}:ids        zset: every job id
-- KEYS[3] anp:{<queue>}:scheduled  zset: scheduled jobs by run_at (µs)
-- KEYS[4] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[5] anp:{<queue>}:retryable  zset: retryable jobs by run_at (µs)
-- KEYS[6] anp:{<queue>}:completed  zset: completed jobs of earlier releases, by finalized_at (µs)
-- KEYS[7] anp:{<queue>}:dead       zset: dead jobs by finalized_at (µs)
-- KEYS[8] anp:{<queue>}:cancelled  zset: cancelled jobs by finalized_at (µs)
-- KEYS[9] anp:{<queue>}:unique     hash: unique key -> id
-- KEYS[10] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- KEYS[11] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- KEYS[12] anp:{<queue>}:done       zset: completed jobs, a member per ack call (lib.lua)
-- KEYS[13] anp:{<queue>}:done_count  string: how many ids done's members hold
-- ARGV[1] id
-- Returns: 1.
-- Errors:  ANP_NOT_FOUND (no such job in this queue),
--          ANP_CONFLICT running (a worker holds it),
--          ANP_CORRUPT when a record cannot be read.

local jobs, ids, uniq = KEYS[1], KEYS[2], KEYS[9]
local Z = { scheduled = KEYS[3], available = KEYS[4], retryable = KEYS[5], completed = KEYS[6],
  dead = KEYS[7], cancelled = KEYS[8] }
export_open(KEYS[10])
leases_open(KEYS[11])
local id = ARGV[1]

local j = job_load(jobs, id)
if not j then
  return redis.error_reply('ANP_NOT_FOUND job ' .. id)
end
if j.state == 'running' then
  return redis.error_reply('ANP_CONFLICT running')
end
if j.state == 'completed' then
  done_remove(KEYS[12], KEYS[13], Z.completed, id, j)
  jobs_delete(jobs, ids, uniq, { id }, nil)
else
  jobs_delete(jobs, ids, uniq, { id }, Z[j.state])
end
return 1
