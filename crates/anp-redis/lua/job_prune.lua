-- job_prune: deletes one queue's finished jobs beyond the retention, oldest finalized first:
-- completed and cancelled jobs together as one class, dead jobs as another. A job goes when it
-- was finalized before its class's cutoff, or when its class holds more than max_count jobs.
-- A deleted job's unique key is released if it still points to it.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records, args, errors, unique keys
-- KEYS[2] anp:{<queue>}:ids        zset: every job id
-- KEYS[3] anp:{<queue>}:completed  zset: completed jobs of earlier releases, by finalized_at (µs)
-- KEYS[4] anp:{<queue>}:cancelled  zset: cancelled jobs by finalized_at (µs)
-- KEYS[5] anp:{<queue>}:dead       zset: dead jobs by finalized_at (µs)
-- KEYS[6] anp:{<queue>}:unique     hash: unique key -> id
-- KEYS[7] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- KEYS[8] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- KEYS[9] anp:{<queue>}:done       zset: completed jobs, a member per ack call (lib.lua)
-- KEYS[10] anp:{<queue>}:done_count  string: how many ids done's members hold
-- ARGV[1] finished cutoff, µs: completed/cancelled jobs finalized strictly before it go
-- ARGV[2] finished max count: keep at most this many completed + cancelled jobs
-- ARGV[3] dead cutoff, µs
-- ARGV[4] dead max count
-- ARGV[5] limit: at most this many deletions in all
-- Returns: the number of jobs deleted (ids taken out of done whose job was gone or no longer
--          completed there count against the limit but are not in this number).

local jobs, ids, completed, cancelled, dead, uniq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local done, done_n = KEYS[9], KEYS[10]
export_open(KEYS[7])
leases_open(KEYS[8])
local limit = tonumber(ARGV[5])

-- One class: the zsets `zsets`, oldest finalized first. Those are per-job zsets, except done,
-- whose members hold several jobs each: the oldest member is taken whole, or the part of it
-- the budget and the excess allow (done_take). Returns the jobs deleted and the ids taken.
local function prune_class(zsets, cutoff, max_count, budget)
  local total = 0
  for _, z in ipairs(zsets) do
    if z == done then
      total = total + done_count(done_n)
    else
      total = total + redis.call('ZCARD', z)
    end
  end
  local excess = total - max_count
  local deleted, taken = 0, 0
  while taken < budget do
    local best_z, best_id, best_score, best_text
    for _, z in ipairs(zsets) do
      local r = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
      if r[1] then
        local s = tonumber(r[2])
        if not best_score or s < best_score or (s == best_score and r[1] < best_id) then
          best_z, best_id, best_score, best_text = z, r[1], s, r[2]
        end
      end
    end
    if not best_id or not (excess > 0 or best_score < cutoff) then
      break
    end
    if best_z == done then
      local k = budget - taken
      if best_score >= cutoff then
        k = math.min(k, excess)
      end
      local d, t = done_take(jobs, ids, uniq, done, done_n, best_id, best_text, k)
      deleted, taken, excess = deleted + d, taken + t, excess - t
    else
      jobs_delete(jobs, ids, uniq, { best_id }, best_z)
      deleted, taken, excess = deleted + 1, taken + 1, excess - 1
    end
  end
  return deleted, taken
end

local n, t =
  prune_class({ completed, cancelled, done }, tonumber(ARGV[1]), tonumber(ARGV[2]), limit)
n = n + prune_class({ dead }, tonumber(ARGV[3]), tonumber(ARGV[4]), limit - t)
return n
