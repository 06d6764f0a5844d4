-- job_enqueue_many: adds a chunk of new jobs to one queue. A job whose id already exists, or
-- whose unique key is held by a live job (or, with a period, by one created within it), is not
-- added: its reply names the existing job as a duplicate. Duplicates inside the chunk resolve to
-- the first job because it is already added when the second is checked. Jobs added are counted
-- (`enqueued`) in the stats bucket of the minute of now, per kind.
--
-- A chunk of up to CHUNK jobs (at least two) without unique keys, while no export runs, is
-- written with one HMGET (which ids exist), one HSET and one ZADD per zset; any other chunk job
-- by job (enqueue_one). Both give the same replies and keys.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records, args, errors, unique keys
-- KEYS[2] anp:{<queue>}:ids        zset: every job id (score 0), for listing
-- KEYS[3] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[4] anp:{<queue>}:scheduled  zset: scheduled jobs by run_at (µs)
-- KEYS[5] anp:{<queue>}:unique     hash: unique key -> id of the newest job with it
-- KEYS[6] anp:{<queue>}:wake       list: wake tokens for blocked job_wait calls
-- KEYS[7] anp:{<queue>}:stats      hash: per-minute stats counters
-- KEYS[8] anp:{<queue>}:stat_minutes  zset: stats buckets by minute
-- KEYS[9] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- KEYS[10] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- ARGV[1] now, µs since the Unix epoch (becomes created_at)
-- ARGV[2] the start of now's minute, µs (the stats bucket)
-- ARGV[3] n, the number of jobs; then 8 ARGV per job:
--         id, kind, args (JSON text), priority (0-9), max_attempts,
--         run_at (µs), unique key ('' for none), unique period (µs, '' for none)
-- Returns: 3 entries per job, in input order: id (the job's, or the existing job's for a
--          duplicate), duplicate (0 or 1), state of the job named by id.
-- Errors:  ANP_CORRUPT when an existing record cannot be read.

local k = { jobs = KEYS[1], ids = KEYS[2], avail = KEYS[3], sched = KEYS[4], uniq = KEYS[5] }
local wakek, stats, minutes = KEYS[6], KEYS[7], KEYS[8]
export_open(KEYS[9])
leases_open(KEYS[10])
local now, minute = ARGV[1], ARGV[2]
local n = tonumber(ARGV[3])
-- 3 reply entries per job; per kind, the jobs added; jobs made available (to wake workers)
local out, added, kinds, woke = {}, {}, {}, 0

for c = 0, n - 1, CHUNK do
  local last = math.min(n, c + CHUNK) - 1
  -- (one job alone costs less through enqueue_one: no batch tables to build)
  local plain = not EXPORT and last > c
  for i = c, last do
    if ARGV[4 + i * 8 + 6] ~= '' then
      plain = false
      break
    end
  end
  local f, now_n, seen, fields, zids, zavail, zsched
  if plain then
    local names = {}
    for i = c, last do
      names[i - c + 1] = ARGV[4 + i * 8]
    end
    f = redis.call('HMGET', k.jobs, unpack(names))
    now_n = tonumber(now)
    -- id -> state of the job added earlier in this chunk (a repeated id is its duplicate)
    seen, fields, zids, zavail, zsched = {}, {}, {}, {}, {}
  end
  for i = c, last do
    local b = 4 + i * 8
    local id, kind, dup, state = ARGV[b], ARGV[b + 1], 0, nil
    if not plain then
      id, dup, state = enqueue_one(k, now, id, kind, ARGV[b + 2], ARGV[b + 3], ARGV[b + 4],
        ARGV[b + 5], ARGV[b + 6], ARGV[b + 7])
    elseif seen[id] then
      dup, state = 1, seen[id]
    elseif f[i - c + 1] then
      -- The same id again: a client retrying a call whose reply it lost.
      dup, state = 1, rec_parse(id, rec_merged(id, f[i - c + 1])).state
    else
      local prio, run_at = ARGV[b + 3], ARGV[b + 5]
      state = 'scheduled'
      if tonumber(run_at) <= now_n then
        state = 'available'
      end
      local x = #fields
      fields[x + 1], fields[x + 2] = id, new_rec(state, prio, ARGV[b + 4], run_at, now, kind, '')
      fields[x + 3], fields[x + 4] = id .. ':args', ARGV[b + 2]
      x = #zids
      zids[x + 1], zids[x + 2] = '0', id
      if state == 'available' then
        x = #zavail
        zavail[x + 1], zavail[x + 2] = avail_score(prio, run_at), id
      else
        x = #zsched
        zsched[x + 1], zsched[x + 2] = run_at, id
      end
      seen[id] = state
    end
    if dup == 0 then
      added[kind] = (added[kind] or 0) + 1
      if added[kind] == 1 then
        kinds[#kinds + 1] = kind
      end
      if state == 'available' then
        woke = woke + 1
      end
    end
    local o = #out
    out[o + 1], out[o + 2], out[o + 3] = id, dup, state
  end
  if plain then
    if #fields > 0 then
      redis.call('HSET', k.jobs, unpack(fields))
      redis.call('ZADD', k.ids, unpack(zids))
    end
    if #zavail > 0 then
      redis.call('ZADD', k.avail, unpack(zavail))
    end
    if #zsched > 0 then
      redis.call('ZADD', k.sched, unpack(zsched))
    end
  end
end

for _, kind in ipairs(kinds) do
  stats_incr(stats, minutes, minute, kind, 'enqueued', added[kind])
end
wake(wakek, woke)
return out
