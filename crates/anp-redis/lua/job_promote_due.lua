-- job_promote_due: makes one queue's scheduled and retryable jobs whose run_at has come
-- available, earliest run_at first.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records
-- KEYS[2] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[3] anp:{<queue>}:scheduled  zset: scheduled jobs by run_at (µs)
-- KEYS[4] anp:{<queue>}:retryable  zset: retryable jobs by run_at (µs)
-- KEYS[5] anp:{<queue>}:wake       list: wake tokens
-- KEYS[6] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- KEYS[7] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- ARGV[1] now, µs: jobs with run_at <= now are due
-- ARGV[2] limit, at most this many jobs
-- Returns: the number of jobs promoted.
-- Errors:  ANP_CORRUPT when a record cannot be read.

local jobs, avail, sched, retry, wakek = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
export_open(KEYS[6])
leases_open(KEYS[7])
local now, limit = ARGV[1], tonumber(ARGV[2])
if limit <= 0 then
  return 0
end
local a = redis.call('ZRANGEBYSCORE', sched, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
local b = redis.call('ZRANGEBYSCORE', retry, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
local due = {}
for i = 1, #a, 2 do
  due[#due + 1] = { id = a[i], score = tonumber(a[i + 1]), from = sched }
end
for i = 1, #b, 2 do
  due[#due + 1] = { id = b[i], score = tonumber(b[i + 1]), from = retry }
end
table.sort(due, function(x, y)
  if x.score ~= y.score then
    return x.score < y.score
  end
  return x.id < y.id
end)
local n = 0
for _, d in ipairs(due) do
  if n >= limit then
    break
  end
  redis.call('ZREM', d.from, d.id)
  local j = job_load(jobs, d.id)
  if j then
    j.state = 'available'
    job_save(jobs, d.id, j)
    redis.call('ZADD', avail, avail_score(j.priority, j.run_at), d.id)
    n = n + 1
  end
end
wake(wakek, n)
return n
