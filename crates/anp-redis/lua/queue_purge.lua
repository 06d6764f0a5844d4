-- queue_purge: deletes up to `limit` jobs of one queue whose state is one of the given states
-- (never running), walking the state zsets in the order given, lowest score first. Each job goes
-- as job_delete deletes it: its unique key is released if the key still points to it, a running
-- export keeps its pre-image (export_keep), and its fields, its `ids` entry and its state-zset
-- entry are removed. Work is done CHUNK jobs at a time with variadic HMGET / HDEL / ZREM.
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
-- ARGV[1] limit: at most this many deletions (at least 1)
-- ARGV[2..] states to delete: scheduled, available, retryable, completed, dead, cancelled
-- Completed jobs are the legacy zset's, then done's, member by member, oldest first
-- (done_take: ids whose job is gone or no longer completed there are only dropped).
-- Returns: the number of jobs deleted.
-- Errors:  ANP_INVALID <state> (running, or not a state: nothing was deleted).

local jobs, ids, uniq = KEYS[1], KEYS[2], KEYS[9]
local Z = { scheduled = KEYS[3], available = KEYS[4], retryable = KEYS[5], completed = KEYS[6],
  dead = KEYS[7], cancelled = KEYS[8] }
local limit = tonumber(ARGV[1])
if not limit or limit < 1 then
  return redis.error_reply('ANP_INVALID limit ' .. tostring(ARGV[1]))
end
for i = 2, #ARGV do
  if not Z[ARGV[i]] then
    return redis.error_reply('ANP_INVALID ' .. ARGV[i])
  end
end
export_open(KEYS[10])
leases_open(KEYS[11])

-- work: jobs deleted plus ids taken out of done without a job to delete; bounded by limit
local deleted, work = 0, 0
for i = 2, #ARGV do
  local z = Z[ARGV[i]]
  while work < limit do
    local batch = redis.call('ZRANGE', z, 0, math.min(CHUNK, limit - work) - 1)
    if #batch == 0 then
      break
    end
    local n = jobs_delete(jobs, ids, uniq, batch, z)
    if n == 0 then
      break
    end
    deleted, work = deleted + n, work + n
  end
  while ARGV[i] == 'completed' and work < limit do
    local r = redis.call('ZRANGE', KEYS[12], 0, 0, 'WITHSCORES')
    if not r[1] then
      break
    end
    local d, t = done_take(jobs, ids, uniq, KEYS[12], KEYS[13], r[1], r[2], limit - work)
    deleted, work = deleted + d, work + t
  end
  if work >= limit then
    break
  end
end
return deleted
