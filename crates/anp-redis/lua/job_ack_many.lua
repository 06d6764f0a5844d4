-- job_ack_many: applies a batch of acknowledgements for one queue, in order. Each applies only
-- if the job is still running under the presented token (fencing); otherwise nothing changes
-- and its reply is 0 (lease lost).
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records, errors
-- KEYS[2] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[3] anp:{<queue>}:scheduled  zset: scheduled jobs by run_at (µs)
-- KEYS[4] anp:{<queue>}:retryable  zset: retryable jobs by run_at (µs)
-- KEYS[5] anp:{<queue>}:running    zset: running jobs by lease expiry (µs)
-- KEYS[6] anp:{<queue>}:completed  zset: completed jobs by finalized_at (µs)
-- KEYS[7] anp:{<queue>}:dead       zset: dead jobs by finalized_at (µs)
-- KEYS[8] anp:{<queue>}:cancelled  zset: cancelled jobs by finalized_at (µs)
-- KEYS[9] anp:{<queue>}:wake       list: wake tokens (hand_back makes a job available)
-- KEYS[10] anp:{<queue>}:stats     hash: per-minute stats counters
-- KEYS[11] anp:{<queue>}:stat_minutes  zset: stats buckets by minute
-- KEYS[12] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- ARGV[1] now, µs (becomes finalized_at for final states)
-- ARGV[2] the start of now's minute, µs (the stats bucket)
-- ARGV[3] n, the number of acks; then 10 ARGV per ack:
--         id, lease token, outcome (complete | retry | dead | snooze | cancel | hand_back),
--         at (µs; retry and snooze, else ''), error (JSON object; retry, dead, cancel, else ''),
--         stats kind ('' for no stats), run bucket, run µs, wait bucket, wait µs
--         (an applied complete counts completed, retry failed, dead failed and dead, each
--         with its run and wait times; the other outcomes count nothing)
-- Returns: one integer per ack, in input order: 1 applied, 0 lease lost.
-- Errors:  ANP_INVALID for an unknown outcome (before anything is written),
--          ANP_CORRUPT when a record cannot be read.

local jobs, avail, sched, retry, running = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local completed, dead, cancelled, wakek = KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local stats, minutes = KEYS[10], KEYS[11]
export_open(KEYS[12])
local now, minute = ARGV[1], ARGV[2]
local n = tonumber(ARGV[3])
local W = 10
local OUTCOMES = { complete = 1, retry = 1, dead = 1, snooze = 1, cancel = 1, hand_back = 1 }
for i = 0, n - 1 do
  local o = ARGV[4 + i * W + 2]
  if not OUTCOMES[o] then
    return redis.error_reply('ANP_INVALID unknown ack outcome ' .. tostring(o))
  end
end

local out = {}
local woke = 0
local acc = { buckets = {}, fields = {} }
for i = 0, n - 1 do
  local b = 4 + i * W
  local id, token, outcome, at, err = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  local skind = ARGV[b + 5]
  local j = job_load(jobs, id)
  if j and j.state == 'running' and j.token == token then
    redis.call('ZREM', running, id)
    lease_clear(j)
    if outcome == 'complete' then
      j.state, j.finalized_at = 'completed', now
      redis.call('ZADD', completed, now, id)
    elseif outcome == 'retry' then
      j.state, j.run_at = 'retryable', at
      errors_append(jobs, id, err)
      redis.call('ZADD', retry, at, id)
    elseif outcome == 'dead' then
      j.state, j.finalized_at = 'dead', now
      errors_append(jobs, id, err)
      redis.call('ZADD', dead, now, id)
    elseif outcome == 'snooze' then
      j.state, j.run_at, j.attempt = 'scheduled', at, j.attempt - 1
      redis.call('ZADD', sched, at, id)
    elseif outcome == 'cancel' then
      j.state, j.finalized_at = 'cancelled', now
      errors_append(jobs, id, err)
      redis.call('ZADD', cancelled, now, id)
    else -- hand_back: run_at is kept, so the job keeps its place in line
      j.state, j.attempt = 'available', j.attempt - 1
      redis.call('ZADD', avail, avail_score(j.priority, j.run_at), id)
      woke = woke + 1
    end
    job_save(jobs, id, j)
    if skind ~= '' and (outcome == 'complete' or outcome == 'retry' or outcome == 'dead') then
      if outcome == 'complete' then
        stats_add(acc, minute, skind, 'completed', 1)
      else
        stats_add(acc, minute, skind, 'failed', 1)
        if outcome == 'dead' then
          stats_add(acc, minute, skind, 'dead', 1)
        end
      end
      stats_add(acc, minute, skind, 'run:' .. ARGV[b + 6], 1)
      stats_add(acc, minute, skind, 'run_sum_us', ARGV[b + 7])
      stats_add(acc, minute, skind, 'wait:' .. ARGV[b + 8], 1)
      stats_add(acc, minute, skind, 'wait_sum_us', ARGV[b + 9])
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
stats_flush(acc, stats, minutes)
wake(wakek, woke)
return out
