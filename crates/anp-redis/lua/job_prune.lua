-- job_prune: deletes one queue's finished jobs beyond the retention, oldest finalized first:
-- completed and cancelled jobs together as one class, dead jobs as another. A job goes when it
-- was finalized before its class's cutoff, or when its class holds more than max_count jobs.
-- A deleted job's unique key is released if it still points to it.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records, args, errors, unique keys
-- KEYS[2] anp:{<queue>}:ids        zset: every job id
-- KEYS[3] anp:{<queue>}:completed  zset: completed jobs by finalized_at (µs)
-- KEYS[4] anp:{<queue>}:cancelled  zset: cancelled jobs by finalized_at (µs)
-- KEYS[5] anp:{<queue>}:dead       zset: dead jobs by finalized_at (µs)
-- KEYS[6] anp:{<queue>}:unique     hash: unique key -> id
-- KEYS[7] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- KEYS[8] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- ARGV[1] finished cutoff, µs: completed/cancelled jobs finalized strictly before it go
-- ARGV[2] finished max count: keep at most this many completed + cancelled jobs
-- ARGV[3] dead cutoff, µs
-- ARGV[4] dead max count
-- ARGV[5] limit: at most this many deletions in all
-- Returns: the number of jobs deleted.

local jobs, ids, completed, cancelled, dead, uniq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
export_open(KEYS[7])
leases_open(KEYS[8])
local limit = tonumber(ARGV[5])

local function prune_class(zsets, cutoff, max_count, budget)
  local total = 0
  for _, z in ipairs(zsets) do
    total = total + redis.call('ZCARD', z)
  end
  local excess = total - max_count
  local n = 0
  while n < budget do
    local best_z, best_id, best_score
    for _, z in ipairs(zsets) do
      local r = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
      if r[1] then
        local s = tonumber(r[2])
        if not best_score or s < best_score or (s == best_score and r[1] < best_id) then
          best_z, best_id, best_score = z, r[1], s
        end
      end
    end
    if not best_id or not (excess > 0 or best_score < cutoff) then
      break
    end
    jobs_delete(jobs, ids, uniq, { best_id }, best_z)
    excess = excess - 1
    n = n + 1
  end
  return n
end

local n = prune_class({ completed, cancelled }, tonumber(ARGV[1]), tonumber(ARGV[2]), limit)
n = n + prune_class({ dead }, tonumber(ARGV[3]), tonumber(ARGV[4]), limit - n)
return n
