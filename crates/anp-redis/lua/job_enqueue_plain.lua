-- job_enqueue_plain: adds a chunk of plain jobs to one queue: each due now, its id and its
-- unique key (if any) not repeated in the call (what application code and `anp bulk` enqueue
-- most). Nothing is decided in Lua: the client builds each record, field name and score, and
-- the per-kind counts (src/ops/job_enqueue_many.rs), so the script checks that the plain path
-- applies and writes. It applies when no export runs, no job of the chunk exists and no unique
-- key of the chunk is held by any job (live or not); otherwise it writes nothing and answers
-- 0, and the client sends the chunk through job_enqueue_many.lua, which decides duplicates
-- (ids, unique keys with their periods) and keeps the export's pre-images. Both write the
-- same fields, members and counters (docs/redis-keys.md); this one costs the server about
-- half as much per job (docs/callgrind.md).
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records, args, unique keys
-- KEYS[2] anp:{<queue>}:ids        zset: every job id (score 0), for listing
-- KEYS[3] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[4] anp:{<queue>}:stats      hash: per-minute stats counters
-- KEYS[5] anp:{<queue>}:stat_minutes  zset: stats buckets by minute
-- KEYS[6] anp:{<queue>}:wake       list: wake tokens for blocked job_wait calls
-- KEYS[7] anp:{<queue>}:export     hash: pre-images kept for a running export
-- KEYS[8] anp:{<queue>}:unique     hash: unique key -> id of the newest job with it
-- ARGV[1] the start of now's minute, µs (the stats bucket)
-- ARGV[2] n, the number of jobs (1 to CHUNK)
-- ARGV[3] k, the number of kinds
-- ARGV[4] u, the number of jobs with a unique key (0 to n);
--         then 4 ARGV per job, in the order HSET takes them: id, the record (`available
--         <priority> 0 <max_attempts> <run_at> <now> - - - - <kind> +-<u or ->`, as new_rec
--         in lib.lua writes it), `<id>:args`, args (JSON text);
--         then n scores, one per job in the same order (avail_score in lib.lua);
--         then 2 ARGV per job with a unique key, as HSET of the jobs hash takes them:
--         `<id>:unique`, the key;
--         then 2 per such job, as HSET of the unique hash takes them: the key, the id;
--         then 2 ARGV per kind: `<minute_us>:<kind>` (the stats bucket), the number of jobs.
-- Returns: 1 when every job was added (each available, none a duplicate), 0 when nothing was
--          written (an export runs, a job's id exists or a unique key is held:
--          job_enqueue_many.lua decides).

-- Whether hash `key` holds any of `fields` (one HMGET).
local function any_field(key, fields)
  local f = redis.call('HMGET', key, unpack(fields))
  for i = 1, #fields do
    if f[i] then
      return true
    end
  end
  return false
end

local jobs, uniq = KEYS[1], KEYS[8]
local n, k, u = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('HEXISTS', KEYS[7], '~token') == 1 then
  return 0
end
-- the last job ARGV, the last score, the unique keys' two blocks, the kinds
local s = 4 + 4 * n
local us = s + n
local ks = us + 4 * u
if n == 1 then
  -- one job (an enqueue from application code): no tables to build
  local id = ARGV[5]
  if redis.call('HEXISTS', jobs, id) == 1 or (u == 1 and redis.call('HEXISTS', uniq, ARGV[us + 3]) == 1) then
    return 0
  end
  if u == 1 then
    redis.call('HSET', jobs, id, ARGV[6], ARGV[7], ARGV[8], ARGV[us + 1], ARGV[us + 2])
    redis.call('HSET', uniq, ARGV[us + 3], id)
  else
    redis.call('HSET', jobs, id, ARGV[6], ARGV[7], ARGV[8])
  end
  -- scores as text: a Lua number is formatted with snprintf on its way to Redis (~2,000
  -- instructions each)
  redis.call('ZADD', KEYS[2], '0', id)
  redis.call('ZADD', KEYS[3], ARGV[s + 1], id)
else
  local ids, zids, zavail = {}, {}, {}
  for i = 1, n do
    local id = ARGV[4 * i + 1]
    ids[i] = id
    zids[2 * i - 1], zids[2 * i] = '0', id
    zavail[2 * i - 1], zavail[2 * i] = ARGV[s + i], id
  end
  if any_field(jobs, ids) then
    return 0
  end
  if u > 0 then
    local keys = {}
    for j = 1, u do
      keys[j] = ARGV[us + 2 * j]
    end
    if any_field(uniq, keys) then
      return 0
    end
  end
  redis.call('HSET', jobs, unpack(ARGV, 5, s))
  if u > 0 then
    redis.call('HSET', jobs, unpack(ARGV, us + 1, us + 2 * u))
    redis.call('HSET', uniq, unpack(ARGV, us + 2 * u + 1, ks))
  end
  redis.call('ZADD', KEYS[2], unpack(zids))
  redis.call('ZADD', KEYS[3], unpack(zavail))
end
local minute = ARGV[1]
for x = ks + 1, ks + 2 * k, 2 do
  local b, c = ARGV[x], ARGV[x + 1]
  if redis.call('HINCRBY', KEYS[4], b .. ':enqueued', c) == tonumber(c) then
    redis.call('ZADD', KEYS[5], minute, b)
  end
end
wake(KEYS[6], n)
return 1
