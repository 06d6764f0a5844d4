-- job_retry_dead: makes up to `limit` dead jobs of one queue available again, as job_retry,
-- oldest finalized first, optionally only of one kind. A job whose unique key another live job
-- holds is skipped (it stays dead).
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records
-- KEYS[2] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[3] anp:{<queue>}:dead       zset: dead jobs by finalized_at (µs)
-- KEYS[4] anp:{<queue>}:unique     hash: unique key -> id
-- KEYS[5] anp:{<queue>}:wake       list: wake tokens
-- KEYS[6] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- KEYS[7] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- ARGV[1] now, µs (becomes run_at)
-- ARGV[2] limit, at most this many jobs
-- ARGV[3] kind, only jobs of this kind ('' for any)
-- Returns: the number of jobs revived.
-- Errors:  ANP_CORRUPT when a record cannot be read.

local jobs, avail, dead, uniq, wakek = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
export_open(KEYS[6])
leases_open(KEYS[7])
local now, limit, kind = ARGV[1], tonumber(ARGV[2]), ARGV[3]

local function held_by_other(id)
  local ukey = redis.call('HGET', jobs, id .. ':unique')
  if not ukey then
    return false, nil
  end
  local holder = redis.call('HGET', uniq, ukey)
  if holder and holder ~= id then
    local h = job_load(jobs, holder)
    if h and LIVE[h.state] then
      return true, ukey
    end
  end
  return false, ukey
end

local revived = 0
local start = 0
while revived < limit do
  local chunk = redis.call('ZRANGE', dead, start, start + 199)
  if #chunk == 0 then
    break
  end
  local removed = 0
  for _, id in ipairs(chunk) do
    if revived >= limit then
      break
    end
    local j = job_load(jobs, id)
    if j and j.state == 'dead' and (kind == '' or j.kind == kind) then
      local held, ukey = held_by_other(id)
      if not held then
        if ukey then
          redis.call('HSET', uniq, ukey, id)
        end
        redis.call('ZREM', dead, id)
        removed = removed + 1
        j.state, j.run_at, j.finalized_at = 'available', now, '-'
        lease_clear(j)
        if j.max_attempts < j.attempt + 1 then
          j.max_attempts = j.attempt + 1
        end
        job_save(jobs, id, j)
        redis.call('ZADD', avail, avail_score(j.priority, now), id)
        revived = revived + 1
      end
    end
  end
  start = start + #chunk - removed
end
wake(wakek, revived)
return revived
