-- job_retry: makes a job that is not running available now. A job that used all its attempts
-- gets one more. Its unique key must not be held by another live job; the key then points to it.
--
-- KEYS[1]  anp:{<queue>}:jobs       hash: job records
-- KEYS[2]  anp:{<queue>}:scheduled  zset: scheduled jobs by run_at (µs)
-- KEYS[3]  anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[4]  anp:{<queue>}:retryable  zset: retryable jobs by run_at (µs)
-- KEYS[5]  anp:{<queue>}:completed  zset: completed jobs of earlier releases, by finalized_at (µs)
-- KEYS[6]  anp:{<queue>}:dead       zset: dead jobs by finalized_at (µs)
-- KEYS[7]  anp:{<queue>}:cancelled  zset: cancelled jobs by finalized_at (µs)
-- KEYS[8]  anp:{<queue>}:unique     hash: unique key -> id
-- KEYS[9]  anp:{<queue>}:wake       list: wake tokens
-- KEYS[10] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- KEYS[11] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- KEYS[12] anp:{<queue>}:done       zset: completed jobs, a member per ack call (lib.lua)
-- KEYS[13] anp:{<queue>}:done_count  string: how many ids done's members hold
-- ARGV[1] id
-- ARGV[2] now, µs (becomes run_at)
-- Returns: the job as it is now: {id, record, args, errors, unique key}.
-- Errors:  ANP_NOT_FOUND (no such job in this queue),
--          ANP_CONFLICT running (a worker holds it),
--          ANP_CONFLICT unique <other id> <other state> (another live job holds its unique key),
--          ANP_CORRUPT when a record cannot be read.

local jobs, uniq, wakek = KEYS[1], KEYS[8], KEYS[9]
local Z = { scheduled = KEYS[2], available = KEYS[3], retryable = KEYS[4], completed = KEYS[5],
  dead = KEYS[6], cancelled = KEYS[7] }
export_open(KEYS[10])
leases_open(KEYS[11])
local id, now = ARGV[1], ARGV[2]

local j = job_load(jobs, id)
if not j then
  return redis.error_reply('ANP_NOT_FOUND job ' .. id)
end
if j.state == 'running' then
  return redis.error_reply('ANP_CONFLICT running')
end
local ukey = redis.call('HGET', jobs, id .. ':unique')
if ukey then
  local holder = redis.call('HGET', uniq, ukey)
  if holder and holder ~= id then
    local h = job_load(jobs, holder)
    if h and LIVE[h.state] then
      return redis.error_reply('ANP_CONFLICT unique ' .. holder .. ' ' .. h.state)
    end
  end
  redis.call('HSET', uniq, ukey, id)
end
if j.state == 'completed' then
  done_remove(KEYS[12], KEYS[13], Z.completed, id, j)
else
  redis.call('ZREM', Z[j.state], id)
end
j.state, j.run_at, j.finalized_at = 'available', now, '-'
lease_clear(j)
if j.max_attempts < j.attempt + 1 then
  j.max_attempts = j.attempt + 1
end
job_save(jobs, id, j)
redis.call('ZADD', Z.available, avail_score(j.priority, now), id)
wake(wakek, 1)
return job_reply(jobs, id)
