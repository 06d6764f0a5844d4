-- job_fetch: leases up to `limit` available jobs of one queue, highest priority first (lowest
-- number), FIFO (run_at in ms, then id) within a priority, unless the queue is paused. Each job
-- gets its own fencing token from anp:{<queue>}:lease_seq and one more attempt.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records
-- KEYS[2] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[3] anp:{<queue>}:running    zset: running jobs by lease expiry (µs)
-- KEYS[4] anp:{<queue>}:paused     string: "1" while the queue is paused
-- KEYS[5] anp:{<queue>}:lease_seq  string: the last fencing token issued (INCRBY)
-- KEYS[6] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- ARGV[1] now, µs (becomes attempted_at)
-- ARGV[2] lease_until, µs (lease expiry)
-- ARGV[3] limit, at most this many jobs
-- ARGV[4] worker id, recorded as lease owner
-- Returns: five entries per leased job, in fetch order, in one flat array: id, record, args,
--          errors, unique key (nil when absent).
-- Errors:  ANP_CORRUPT when a record cannot be read.

local jobs, avail, running, paused, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
export_open(KEYS[6])
local now, lease_until, limit, worker = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]

if limit <= 0 or redis.call('GET', paused) == '1' then
  return {}
end
-- The batch, in ZPOPMIN order (ZRANGE + ZREM: the same jobs as ZPOPMIN, without their scores).
local ids = redis.call('ZRANGE', avail, 0, limit - 1)
local n = #ids
if n == 0 then
  return {}
end
for c = 1, n, CHUNK do
  redis.call('ZREM', avail, unpack(ids, c, math.min(n, c + CHUNK - 1)))
end
local last = redis.call('INCRBY', seq, n)
local format = string.format
local out = {}
-- Per chunk of jobs: one HMGET of their fields, then one HSET of the new records and one ZADD
-- to running. A record the fast pattern does not match first writes what is pending, so if it
-- cannot be read (ANP_CORRUPT) the jobs before it stay leased, as when each was written at once.
local recs, leases, w = {}, {}, 0
local function flush()
  if w > 0 then
    redis.call('HSET', jobs, unpack(recs, 1, 2 * w))
    -- Last id first: the batch shares one score, so in a small (listpack) running zset each
    -- goes in before the previous one instead of after a walk past all of them.
    local z = {}
    for x = 1, w do
      z[2 * x - 1], z[2 * x] = lease_until, leases[w - x + 1]
    end
    redis.call('ZADD', running, unpack(z, 1, 2 * w))
    w = 0
  end
end
local tail = ' ' .. lease_until .. ' '
-- attempt text -> the next attempt's (a batch's jobs mostly share one attempt)
local next_attempt = {}
for c = 1, n, CHUNK do
  local m = math.min(n, c + CHUNK - 1)
  local names, k = {}, 0
  for i = c, m do
    local id = ids[i]
    names[k + 1], names[k + 2], names[k + 3], names[k + 4] =
      id, id .. ':args', id .. ':errors', id .. ':unique'
    k = k + 4
  end
  local f = redis.call('HMGET', jobs, unpack(names, 1, k))
  for i = c, m do
    local b = (i - c) * 4
    local s = f[b + 1]
    if s then
      local id = ids[i]
      local token = format('%d', last - n + i)
      local pr, at, mid, fa, kind = rec_fetch_fields(s)
      local rec
      if pr then
        local a1 = next_attempt[at]
        if not a1 then
          a1 = format('%d', at + 1)
          next_attempt[at] = a1
        end
        rec = 'running ' .. pr .. a1 .. mid .. now .. fa .. token .. tail .. kind .. ' ' .. worker
      else
        flush()
        local j = rec_parse(id, s)
        j.state = 'running'
        j.attempt = j.attempt + 1
        j.attempted_at = now
        j.token = token
        j.lease_expires_at = lease_until
        j.owner = worker
        rec = rec_format(j)
      end
      export_keep(jobs, id)
      w = w + 1
      recs[2 * w - 1], recs[2 * w] = id, rec
      leases[w] = id
      local o = #out
      out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = id, rec, f[b + 2], f[b + 3],
        f[b + 4]
    end
  end
  flush()
end
return out
