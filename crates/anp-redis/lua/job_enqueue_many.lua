-- job_enqueue_many: adds a chunk of new jobs to one queue. A job whose id already exists, or
-- whose unique key is held by a live job (or, with a period, by one created within it), is not
-- added: its reply names the existing job as a duplicate. Duplicates inside the chunk resolve to
-- the first job because it is already added when the second is checked. Jobs added are counted
-- (`enqueued`) in the stats bucket of the minute of now, per kind.
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
local now, minute = ARGV[1], ARGV[2]
local n = tonumber(ARGV[3])
local out = {}
local woke = 0
local added = {}
local kinds = {}

for i = 0, n - 1 do
  local b = 4 + i * 8
  local kind = ARGV[b + 1]
  local id, dup, state = enqueue_one(k, now, ARGV[b], kind, ARGV[b + 2], ARGV[b + 3],
    ARGV[b + 4], ARGV[b + 5], ARGV[b + 6], ARGV[b + 7])
  if dup == 0 then
    if not added[kind] then
      added[kind] = 0
      kinds[#kinds + 1] = kind
    end
    added[kind] = added[kind] + 1
    if state == 'available' then
      woke = woke + 1
    end
  end
  out[#out + 1] = id
  out[#out + 1] = dup
  out[#out + 1] = state
end

for _, kind in ipairs(kinds) do
  stats_incr(stats, minutes, minute, kind, 'enqueued', added[kind])
end
wake(wakek, woke)
return out
