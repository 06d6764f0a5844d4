-- job_cancel: cancels a job that is not final. A running job's lease is voided, so its worker's
-- acknowledgement is rejected (lease lost). "cancelled by operator" is appended to the history.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records, errors
-- KEYS[2] anp:{<queue>}:scheduled  zset: scheduled jobs by run_at (µs)
-- KEYS[3] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[4] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- KEYS[5] anp:{<queue>}:retryable  zset: retryable jobs by run_at (µs)
-- KEYS[6] anp:{<queue>}:cancelled  zset: cancelled jobs by finalized_at (µs)
-- KEYS[7] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- ARGV[1] id
-- ARGV[2] now, µs (becomes finalized_at)
-- ARGV[3] now as RFC 3339 text (the `at` of the recorded error)
-- Returns: the job as it is now: {id, record, args, errors, unique key}.
-- Errors:  ANP_NOT_FOUND (no such job in this queue),
--          ANP_CONFLICT <state> (the job is already completed, dead or cancelled),
--          ANP_CORRUPT when a record cannot be read.

local jobs, cancelled = KEYS[1], KEYS[6]
local Z = { scheduled = KEYS[2], available = KEYS[3], retryable = KEYS[5] }
export_open(KEYS[7])
leases_open(KEYS[4])
local id, now, now_text = ARGV[1], ARGV[2], ARGV[3]

local j = job_load(jobs, id)
if not j then
  return redis.error_reply('ANP_NOT_FOUND job ' .. id)
end
if not LIVE[j.state] then
  return redis.error_reply('ANP_CONFLICT ' .. j.state)
end
-- a running job's lease goes with job_save below
if Z[j.state] then
  redis.call('ZREM', Z[j.state], id)
end
errors_append(jobs, id, '{"attempt":' .. string.format('%d', j.attempt) .. ',"at":'
  .. cjson.encode(now_text) .. ',"message":"cancelled by operator","retry_safe":false}', j)
lease_clear(j)
j.state, j.finalized_at = 'cancelled', now
job_save(jobs, id, j)
redis.call('ZADD', cancelled, now, id)
return job_reply(jobs, id)
