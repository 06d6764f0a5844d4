-- queue_list: one queue's paused flag, job count per state and the run_at of its oldest
-- available job. Read only.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records
-- KEYS[2] anp:{<queue>}:scheduled  zset
-- KEYS[3] anp:{<queue>}:available  zset: by priority, run_at (ms)
-- KEYS[4] anp:{<queue>}:leases     hash: running jobs' leases (lib.lua, LEASES)
-- KEYS[5] anp:{<queue>}:completed  zset (earlier releases')
-- KEYS[6] anp:{<queue>}:retryable  zset
-- KEYS[7] anp:{<queue>}:dead       zset
-- KEYS[8] anp:{<queue>}:cancelled  zset
-- KEYS[9] anp:{<queue>}:pause      string: "1" paused, "0" resumed, absent never either
-- KEYS[10] anp:{<queue>}:done_count  string: how many completed jobs anp:{<queue>}:done holds (lib.lua)
-- Returns: {paused ("1" | "0" | ""), count scheduled, available, running, completed, retryable,
--          dead, cancelled, oldest available run_at (µs text, '' when none)}.
-- Errors:  ANP_CORRUPT when a record cannot be read.

local jobs, avail = KEYS[1], KEYS[3]
leases_open(KEYS[4])
local out = { redis.call('GET', KEYS[9]) or '' }
for i = 2, 8 do
  if i == 4 then
    -- the leases, less LEASES_PIN (lib.lua), which is no job
    out[#out + 1] = redis.call('HLEN', KEYS[i]) - redis.call('HEXISTS', KEYS[i], LEASES_PIN)
  elseif i == 5 then
    out[#out + 1] = done_total(KEYS[10], KEYS[i])
  else
    out[#out + 1] = redis.call('ZCARD', KEYS[i])
  end
end

-- The lowest score of each priority band is its earliest run_at (ms); within that
-- millisecond, read the records for the exact µs.
local oldest, oldest_n = '', nil
if out[3] > 0 then
  for p = 0, 9 do
    local lo = string.format('%.0f', p * 100000000000000)
    local hi = '(' .. string.format('%.0f', (p + 1) * 100000000000000)
    local first = redis.call('ZRANGEBYSCORE', avail, lo, hi, 'WITHSCORES', 'LIMIT', 0, 1)
    if first[1] then
      for _, id in ipairs(redis.call('ZRANGEBYSCORE', avail, first[2], first[2], 'LIMIT', 0, 100)) do
        local j = job_load(jobs, id)
        if j and (not oldest_n or tonumber(j.run_at) < oldest_n) then
          oldest, oldest_n = j.run_at, tonumber(j.run_at)
        end
      end
    end
  end
end
out[#out + 1] = oldest
return out
