-- job_rescue_expired: takes back one queue's running jobs whose lease expired before `now`,
-- oldest expiry first. The lost attempt is appended to the history (retry-safe); the job becomes
-- available (run_at = now, so it queues behind what is already waiting), or dead when that was
-- its last attempt.
--
-- The leases hash holds only jobs in flight, so reading it whole is bounded by the workers'
-- concurrency. A job leased by a layout-1 process (docs/redis-keys.md, "Migration 1 → 2") is in
-- the layout-1 running zset instead, with its lease in its record: it is taken back the same
-- way when that lease expires.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records, errors
-- KEYS[2] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[3] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- KEYS[4] anp:{<queue>}:dead       zset: dead jobs by finalized_at (µs)
-- KEYS[5] anp:{<queue>}:wake       list: wake tokens
-- KEYS[6] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- KEYS[7] anp:{<queue>}:running    zset: layout 1's running jobs by lease expiry (µs)
-- ARGV[1] now, µs: leases that expired strictly before it are rescued
-- ARGV[2] now as RFC 3339 text (the `at` of the recorded error)
-- ARGV[3] limit, at most this many jobs
-- Returns: 4 entries per rescued job: id, kind, lost attempt, new state (available | dead).
-- Errors:  ANP_CORRUPT when a record or lease cannot be read.

local jobs, avail, leases, dead, wakek, running = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5],
  KEYS[7]
export_open(KEYS[6])
leases_open(leases)
local now, now_text, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
if limit <= 0 then
  return {}
end
local now_n = tonumber(now)
-- {expiry, id} of every expired lease, oldest first
local expired = {}
local all = redis.call('HGETALL', leases)
for i = 1, #all, 2 do
  local le = string.match(all[i + 1], '^-?[0-9]+ ([0-9]+) ')
  if all[i] == LEASES_PIN then
    le = nil
  elseif not le then
    return redis.error_reply('ANP_CORRUPT job ' .. all[i] .. ' has an unreadable lease: ' .. all[i + 1])
  end
  if le and tonumber(le) < now_n then
    expired[#expired + 1] = { tonumber(le), all[i] }
  end
end
table.sort(expired, function(a, b) return a[1] < b[1] end)
local ids = {}
for i = 1, math.min(limit, #expired) do
  ids[i] = expired[i][2]
end
if #ids < limit then
  local legacy = redis.call('ZRANGEBYSCORE', running, '-inf', '(' .. now, 'LIMIT', 0, limit - #ids)
  for _, id in ipairs(legacy) do
    redis.call('ZREM', running, id)
    ids[#ids + 1] = id
  end
end
local out = {}
local woke = 0
for _, id in ipairs(ids) do
  local j = job_load(jobs, id)
  if j and j.state == 'running' then
    local message = 'lease expired at ' .. rfc3339(j.lease_expires_at) .. ': worker ' .. j.owner
      .. ' stopped heartbeating (killed, crashed or stalled); attempt lost'
    errors_append(jobs, id, '{"attempt":' .. string.format('%d', j.attempt) .. ',"at":'
      .. cjson.encode(now_text) .. ',"message":' .. cjson.encode(message) .. ',"retry_safe":true}', j)
    lease_clear(j)
    if j.attempt >= j.max_attempts then
      j.state, j.finalized_at = 'dead', now
      redis.call('ZADD', dead, now, id)
    else
      j.state, j.run_at = 'available', now
      redis.call('ZADD', avail, avail_score(j.priority, now), id)
      woke = woke + 1
    end
    job_save(jobs, id, j)
    out[#out + 1] = id
    out[#out + 1] = j.kind
    out[#out + 1] = j.attempt
    out[#out + 1] = j.state
  elseif not j then
    -- a lease left behind by a job that is gone
    redis.call('HDEL', leases, id)
  end
end
wake(wakek, woke)
return out
