-- job_import_many: adds a chunk of jobs from a backup to one queue, every field as it was
-- (state, attempts, timestamps, lease, unique key, error history). A job whose id already
-- exists is left alone. Each job goes into its state's zset with that zset's score. The unique
-- key is taken in anp:{<queue>}:unique only when it is free, or held by a job that is gone or
-- finished (a finished holder keeps it against a finished import created earlier than it).
-- A running job's lease token above anp:{<queue>}:lease_seq raises it, so job_fetch never
-- issues that token again. Available jobs added push wake tokens. No stats are counted.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records, args, errors, unique keys
-- KEYS[2] anp:{<queue>}:ids        zset: every job id (score 0), for listing
-- KEYS[3] anp:{<queue>}:scheduled  zset: scheduled jobs by run_at (µs)
-- KEYS[4] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[5] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- KEYS[6] anp:{<queue>}:done       zset: completed jobs (lib.lua, done_add; one member each here)
-- KEYS[7] anp:{<queue>}:retryable  zset: retryable jobs by run_at (µs)
-- KEYS[8] anp:{<queue>}:dead       zset: dead jobs by finalized_at (µs)
-- KEYS[9] anp:{<queue>}:cancelled  zset: cancelled jobs by finalized_at (µs)
-- KEYS[10] anp:{<queue>}:unique    hash: unique key -> id of the newest job with it
-- KEYS[11] anp:{<queue>}:wake      list: wake tokens for blocked job_wait calls
-- KEYS[12] anp:{<queue>}:lease_seq  string: the last fencing token issued
-- KEYS[13] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- KEYS[14] anp:{<queue>}:done_count  string: how many ids done's members hold
-- ARGV[1] n, the number of jobs; then 16 ARGV per job:
--         id, kind, args (JSON text), state, priority (0-9), attempt, max_attempts,
--         run_at (µs), created_at (µs), attempted_at (µs or '-'), finalized_at (µs or '-'),
--         unique key ('' for none), lease owner ('' for none), lease_expires_at (µs or '-'),
--         lease token ('-' for none), errors (JSON array text, '' when there are none)
-- Returns: the number of jobs added.
-- Errors:  ANP_INVALID when a state is not one of the seven; ANP_CORRUPT when an existing
--          record cannot be read.

local jobs, ids, leases, uniq, wakek, seq = KEYS[1], KEYS[2], KEYS[5], KEYS[10], KEYS[11], KEYS[12]
local done_n = KEYS[14]
local zsets = {
  scheduled = KEYS[3], available = KEYS[4], running = KEYS[5], completed = KEYS[6],
  retryable = KEYS[7], dead = KEYS[8], cancelled = KEYS[9],
}
export_open(KEYS[13])
leases_open(KEYS[5])
local n = tonumber(ARGV[1])

-- Validate every state first, so a bad chunk writes nothing.
for i = 0, n - 1 do
  local st = ARGV[2 + i * 16 + 3]
  if not zsets[st] then
    return redis.error_reply('ANP_INVALID state ' .. tostring(st))
  end
end

local added = 0
local woke = 0
local max_token = nil

for i = 0, n - 1 do
  local b = 2 + i * 16
  local id, kind, args, state = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local prio, attempt, max_attempts = ARGV[b + 4], ARGV[b + 5], ARGV[b + 6]
  local run_at, created_at, attempted_at, finalized_at = ARGV[b + 7], ARGV[b + 8], ARGV[b + 9],
    ARGV[b + 10]
  local ukey, owner, lease_exp, token, errs = ARGV[b + 11], ARGV[b + 12], ARGV[b + 13],
    ARGV[b + 14], ARGV[b + 15]
  if not redis.call('HGET', jobs, id) then
    local j = {
      state = state, priority = prio, attempt = tonumber(attempt),
      max_attempts = tonumber(max_attempts), run_at = run_at, created_at = created_at,
      attempted_at = attempted_at, finalized_at = finalized_at, token = token,
      lease_expires_at = lease_exp, kind = kind, owner = owner, flags = '+--',
    }
    if errs ~= '' and errs ~= '[]' then
      j.flags = '+e-'
    end
    if ukey ~= '' then
      j.flags = string.sub(j.flags, 1, 2) .. 'u'
    end
    if state == 'running' then
      -- a lease (a missing token or expiry becomes 0: rescued at once) over the record of the
      -- attempt before, as job_fetch leaves it
      if not string.find(token, '^-?[0-9]+$') then
        j.token = '0'
      end
      if not string.find(lease_exp, '^[0-9]+$') then
        j.lease_expires_at = '0'
      end
      if not string.find(attempted_at, '^[0-9]+$') then
        j.attempted_at = created_at
      end
      redis.call('HSET', leases, id, lease_text(j))
      j.state, j.attempt = 'available', j.attempt - 1
      lease_clear(j)
    end
    local rec = rec_format(j)
    export_keep(jobs, id)
    redis.call('HSET', jobs, id, rec, id .. ':args', args)
    if errs ~= '' then
      redis.call('HSET', jobs, id .. ':errors', errs)
    end
    if ukey ~= '' then
      redis.call('HSET', jobs, id .. ':unique', ukey)
      local take = true
      local holder = redis.call('HGET', uniq, ukey)
      if holder and holder ~= id then
        local h = job_load(jobs, holder)
        if h then
          if LIVE[h.state] then
            take = false
          elseif not LIVE[state] and tonumber(created_at) < tonumber(h.created_at) then
            take = false
          end
        end
      end
      if take then
        redis.call('HSET', uniq, ukey, id)
      end
    end
    redis.call('ZADD', ids, 0, id)
    local score
    if state == 'available' then
      score = avail_score(prio, run_at)
      woke = woke + 1
    elseif state == 'scheduled' or state == 'retryable' then
      score = run_at
    elseif state == 'running' then
      score = nil
    elseif finalized_at ~= '-' then
      score = finalized_at
    else
      score = created_at
    end
    if state == 'completed' then
      done_add(zsets.completed, done_n, score, id, 1)
    elseif score then
      redis.call('ZADD', zsets[state], score, id)
    end
    if state == 'running' and token ~= '-' then
      local t = tonumber(token)
      if max_token == nil or t > tonumber(max_token) then
        max_token = token
      end
    end
    added = added + 1
  end
end

if max_token ~= nil then
  local cur = redis.call('GET', seq)
  if not cur or tonumber(max_token) > tonumber(cur) then
    redis.call('SET', seq, max_token)
  end
end
wake(wakek, woke)
return added
