-- job_fetch: leases up to `limit` available jobs of one queue, highest priority first (lowest
-- number), FIFO (run_at in ms, then id) within a priority, unless the queue is paused. Each job
-- gets its own fencing token from anp:{<queue>}:lease_seq and one more attempt.
--
-- Layout 2 (lib.lua, LEASES): a job is leased by one field in the leases hash; its record is
-- not read apart from being returned, and not rewritten. The caller applies the lease to each
-- record it gets back (running, attempt + 1, attempted_at = now, the token, the expiry and the
-- owner it sent), as lease_apply does in the scripts.
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records
-- KEYS[2] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[3] anp:{<queue>}:leases     hash: running jobs' leases
-- KEYS[4] anp:{<queue>}:pause      string: "1" while the queue is paused
-- KEYS[5] anp:{<queue>}:lease_seq  string: the last fencing token issued (INCRBY)
-- KEYS[6] anp:{<queue>}:export  hash: pre-images kept for a running export (lib.lua)
-- ARGV[1] now, µs (becomes attempted_at)
-- ARGV[2] lease_until, µs (lease expiry)
-- ARGV[3] limit, at most this many jobs
-- ARGV[4] worker id, recorded as lease owner
-- ARGV[5] limit - 1 (the last rank ZRANGE takes)
-- Returns: one flat array: the token before the first job's (an integer: the k-th job
--          returned has token base + k), then per leased job, in fetch order: id, record (as
--          stored, before the lease), args, then its error history if the record's flags say
--          it may have one, then its unique key likewise (nil when absent). Most jobs have
--          neither: three values (each reply value costs the script ~900 instructions).

local jobs, avail, leases, paused, seq = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
export_open(KEYS[6])
leases_open(leases)
local now, lease_until, limit, worker = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]

if limit <= 0 or redis.call('GET', paused) == '1' then
  return {}
end
-- The batch, in ZPOPMIN order (ZRANGE + ZREM: the same jobs as ZPOPMIN, without their scores).
-- Numbers go to redis.call as text (a Lua number is formatted with snprintf, ~2,000
-- instructions each): the client sends limit - 1, and a full batch takes limit's text.
local ids = redis.call('ZRANGE', avail, '0', ARGV[5])
local n = #ids
if n == 0 then
  return {}
end
for c = 1, n, CHUNK do
  redis.call('ZREM', avail, unpack(ids, c, math.min(n, c + CHUNK - 1)))
end
local by = n
if n == limit then
  by = ARGV[3]
end
local base = redis.call('INCRBY', seq, by) - n
local format = string.format
local out = { base }
local tail = ' ' .. lease_until .. ' ' .. now .. ' ' .. worker
local token = base
-- Per chunk of jobs: one HMGET of their records and args, one more of the error histories and
-- unique keys of the jobs whose record says they may have one (its flags, lib.lua; a record
-- without flags may have either), then one HSET of their leases (with the field LEASES_PIN,
-- lib.lua). A job whose record is missing (a damaged queue) is dropped from `available` and
-- not leased.
local sub = string.sub
-- Per job, every C function call (string.byte, string.format, …) costs about 600
-- instructions and every Lua one about 800 (docs/redis-keys.md): the loop below makes as few
-- as it can.
local o = 1
for c = 1, n, CHUNK do
  local m = math.min(n, c + CHUNK - 1)
  local names, k = {}, 0
  for i = c, m do
    local id = ids[i]
    names[k + 1], names[k + 2] = id, id .. ':args'
    k = k + 2
  end
  local f = redis.call('HMGET', jobs, unpack(names, 1, k))
  -- the error histories and unique keys to read (fields), and where each goes in the reply
  local more, where, x = {}, {}, 0
  local ls, w = { LEASES_PIN, LEASES_PIN_TEXT }, 2
  for i = c, m do
    local b = (i - c) * 2
    local s = f[b + 1]
    if s then
      local id = ids[i]
      token = token + 1
      if EXPORT then
        export_keep(jobs, id)
      end
      ls[w + 1], ls[w + 2] = id, format('%d', token) .. tail
      w = w + 2
      out[o + 1], out[o + 2], out[o + 3] = id, s, f[b + 2]
      o = o + 3
      -- flags ` +eu` (`+` after a space, third from the end: a kind never holds a `+`): the
      -- fields the job has, each one more value in the reply; a record without flags (layout
      -- 1's) may have both
      local flags = sub(s, -4)
      if flags ~= ' +--' then
        if flags ~= ' +-u' then
          o, x = o + 1, x + 1
          out[o], more[x], where[x] = false, id .. ':errors', o
        end
        if flags ~= ' +e-' then
          o, x = o + 1, x + 1
          out[o], more[x], where[x] = false, id .. ':unique', o
        end
      end
    end
  end
  if x > 0 then
    local g = redis.call('HMGET', jobs, unpack(more, 1, x))
    for y = 1, x do
      out[where[y]] = g[y]
    end
  end
  if w > 2 then
    redis.call('HSET', leases, unpack(ls, 1, w))
  end
end
return out
