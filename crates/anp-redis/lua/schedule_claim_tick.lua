-- schedule_claim_tick (also schedule_trigger): the exactly-once step of a schedule. In claim
-- mode, a tick later than the schedule's last_tick is claimed: last_tick is set, the job is
-- enqueued (exactly as job_enqueue_many does, stats included) unless the tick is skipped or the
-- schedule skips overlaps and its last job is unfinished, and the decision is logged; a tick at
-- or before last_tick changes nothing. In trigger mode the job is enqueued and logged as
-- triggered, and last_tick is unchanged. The fire log is trimmed to log_max entries.
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
-- KEYS[11] anp:{<queue>}:schedule:<name> hash: the schedule
-- KEYS[12] anp:{<queue>}:fires:<name>    list: the fire log, newest first
-- ARGV[1] now, µs (decided_at, and created_at of the job)
-- ARGV[2] the start of now's minute, µs (the stats bucket)
-- ARGV[3] mode: claim | trigger
-- ARGV[4] the tick, µs (claim; ignored by trigger, which logs now)
-- ARGV[5] skip reason ('' for none)
-- ARGV[6] passed_over, the number of earlier ticks passed over
-- ARGV[7] the scheduler (or, for trigger, who triggered)
-- ARGV[8] log_max, fire-log entries kept (at least 1)
-- ARGV[9] 1 when a job is to be enqueued, else 0; then 8 ARGV for the job as in
--         job_enqueue_many: id, kind, args, priority, max_attempts, run_at, unique key, period
-- Returns: { 'already' } when the tick was decided before, else
--          { 'claimed', job id ('' for none), duplicate (0/1), job state, overlap job id or '' }.
-- Errors:  ANP_NOT_FOUND when the schedule does not exist; ANP_CORRUPT for unreadable records.

local k = { jobs = KEYS[1], ids = KEYS[2], avail = KEYS[3], sched = KEYS[4], uniq = KEYS[5] }
local wakek, stats, minutes, sk, fk = KEYS[6], KEYS[7], KEYS[8], KEYS[11], KEYS[12]
export_open(KEYS[9])
leases_open(KEYS[10])
local now, minute, mode, tick = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local skip_reason, passed_over, who = ARGV[5], tonumber(ARGV[6]), ARGV[7]
local log_max = math.max(tonumber(ARGV[8]), 1)
local has_job = ARGV[9] == '1'

if redis.call('EXISTS', sk) == 0 then
  return redis.error_reply('ANP_NOT_FOUND schedule')
end
local st = redis.call('HMGET', sk, 'last_tick', 'last_job', 'skip_if_running', 'catch_up')
local last_tick, last_job, skip_running, catch_up = st[1], st[2], st[3], st[4]

if mode == 'claim' and last_tick and tonumber(last_tick) >= tonumber(tick) then
  return { 'already' }
end

local function log(t, decision, job, reason)
  local e = { t = t, d = now, k = decision, s = who }
  if job and job ~= '' then
    e.j = job
  end
  if reason and reason ~= '' then
    e.r = reason
  end
  redis.call('LPUSH', fk, cjson.encode(e))
end

local overlap = ''
if mode == 'claim' and has_job and skip_running == '1' and last_job then
  local prev = job_load(k.jobs, last_job)
  if prev and prev.finalized_at == '-' then
    overlap = last_job
  end
end

local eid, edup, estate = '', 0, ''
if has_job and overlap == '' then
  local kind = ARGV[11]
  eid, edup, estate = enqueue_one(k, now, ARGV[10], kind, ARGV[12], ARGV[13], ARGV[14],
    ARGV[15], ARGV[16], ARGV[17])
  if edup == 0 then
    stats_incr(stats, minutes, minute, kind, 'enqueued', 1)
    if estate == 'available' then
      wake(wakek, 1)
    end
  end
end

if mode == 'claim' then
  redis.call('HSET', sk, 'last_tick', tick)
  if eid ~= '' then
    redis.call('HSET', sk, 'last_job', eid)
  end
  if passed_over > 0 then
    log(tick, 'skipped', nil, string.format('%d', passed_over)
      .. ' earlier missed tick(s) passed over (catch_up = ' .. (catch_up or 'latest') .. ')')
  end
  if eid ~= '' then
    log(tick, 'enqueued', eid, nil)
  elseif overlap ~= '' then
    log(tick, 'skipped', overlap, 'overlap: previous run ' .. overlap .. ' has not finished')
  else
    log(tick, 'skipped', nil, skip_reason)
  end
else
  log(now, 'triggered', eid, 'by ' .. who)
end
redis.call('LTRIM', fk, 0, log_max - 1)
return { 'claimed', eid, edup, estate, overlap }
