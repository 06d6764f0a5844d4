-- job_enqueue_many: adds a chunk of new jobs to one queue. A job whose id already exists, or
-- whose unique key is held by a live job (or, with a period, by one created within it), is not
-- added: its reply names the existing job as a duplicate. Duplicates inside the chunk resolve to
-- the first job because it is already added when the second is checked.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records, args, errors, unique keys
-- KEYS[2] anp:{<queue>}:ids        zset: every job id (score 0), for listing
-- KEYS[3] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[4] anp:{<queue>}:scheduled  zset: scheduled jobs by run_at (µs)
-- KEYS[5] anp:{<queue>}:unique     hash: unique key -> id of the newest job with it
-- KEYS[6] anp:{<queue>}:wake       list: wake tokens for blocked job_wait calls
-- ARGV[1] now, µs since the Unix epoch (becomes created_at)
-- ARGV[2] n, the number of jobs; then 8 ARGV per job:
--         id, kind, args (JSON text), priority (0-9), max_attempts,
--         run_at (µs), unique key ('' for none), unique period (µs, '' for none)
-- Returns: 3 entries per job, in input order: id (the job's, or the existing job's for a
--          duplicate), duplicate (0 or 1), state of the job named by id.
-- Errors:  ANP_CORRUPT when an existing record cannot be read.

local jobs, ids, avail, sched, uniq, wakek = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local now = ARGV[1]
local now_n = tonumber(now)
local n = tonumber(ARGV[2])
local out = {}
local woke = 0

for i = 0, n - 1 do
  local b = 3 + i * 8
  local id, kind, args, prio = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local max_attempts, run_at, ukey, uperiod = ARGV[b + 4], ARGV[b + 5], ARGV[b + 6], ARGV[b + 7]
  local dup_id, dup_state
  local existing = job_load(jobs, id)
  if existing then
    -- The same id again: a client retrying a chunk whose reply it lost.
    dup_id, dup_state = id, existing.state
  elseif ukey ~= '' then
    local holder = redis.call('HGET', uniq, ukey)
    if holder then
      local h = job_load(jobs, holder)
      if h and (LIVE[h.state] or (uperiod ~= '' and tonumber(h.created_at) >= now_n - tonumber(uperiod))) then
        dup_id, dup_state = holder, h.state
      end
    end
  end
  if dup_id then
    out[#out + 1] = dup_id
    out[#out + 1] = 1
    out[#out + 1] = dup_state
  else
    local state = 'scheduled'
    if tonumber(run_at) <= now_n then
      state = 'available'
    end
    local rec = rec_format({
      state = state, priority = prio, attempt = 0, max_attempts = tonumber(max_attempts),
      run_at = run_at, created_at = now, attempted_at = '-', finalized_at = '-',
      token = '-', lease_expires_at = '-', kind = kind, owner = '',
    })
    if ukey ~= '' then
      redis.call('HSET', jobs, id, rec, id .. ':args', args, id .. ':unique', ukey)
      redis.call('HSET', uniq, ukey, id)
    else
      redis.call('HSET', jobs, id, rec, id .. ':args', args)
    end
    redis.call('ZADD', ids, 0, id)
    if state == 'available' then
      redis.call('ZADD', avail, avail_score(prio, run_at), id)
      woke = woke + 1
    else
      redis.call('ZADD', sched, run_at, id)
    end
    out[#out + 1] = id
    out[#out + 1] = 0
    out[#out + 1] = state
  end
end

wake(wakek, woke)
return out
