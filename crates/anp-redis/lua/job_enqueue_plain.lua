-- job_enqueue_plain: adds a chunk of plain jobs to one queue: each due now, without a unique
-- key, its id not repeated in the call (what application code and `anp bulk` enqueue most).
-- Nothing is decided in Lua: the client builds each record, args field name and score, and
-- the per-kind counts (src/ops/job_enqueue_many.rs), so the script checks that the plain path
-- applies and writes. It applies when no export runs and no job of the chunk exists;
-- otherwise it writes nothing and answers 0, and the client sends the chunk through
-- job_enqueue_many.lua, which decides duplicates and keeps the export's pre-images. Both
-- write the same fields, members and counters (docs/redis-keys.md); this one costs the server
-- about half as much per job (docs/callgrind.md).
--
-- KEYS[1] anp:{<queue>}:jobs       hash: job records, args
-- KEYS[2] anp:{<queue>}:ids        zset: every job id (score 0), for listing
-- KEYS[3] anp:{<queue>}:available  zset: available jobs by priority, run_at (ms)
-- KEYS[4] anp:{<queue>}:stats      hash: per-minute stats counters
-- KEYS[5] anp:{<queue>}:stat_minutes  zset: stats buckets by minute
-- KEYS[6] anp:{<queue>}:wake       list: wake tokens for blocked job_wait calls
-- KEYS[7] anp:{<queue>}:export     hash: pre-images kept for a running export
-- ARGV[1] the start of now's minute, µs (the stats bucket)
-- ARGV[2] n, the number of jobs (1 to CHUNK)
-- ARGV[3] k, the number of kinds;
--         then 4 ARGV per job, in the order HSET takes them: id, the record (`available
--         <priority> 0 <max_attempts> <run_at> <now> - - - - <kind> +--`, as new_rec in
--         lib.lua writes it), `<id>:args`, args (JSON text);
--         then n scores, one per job in the same order (avail_score in lib.lua);
--         then 2 ARGV per kind: `<minute_us>:<kind>` (the stats bucket), the number of jobs.
-- Returns: 1 when every job was added (each available, none a duplicate), 0 when nothing was
--          written (an export runs, or a job's id exists: job_enqueue_many.lua decides).

local jobs, n, k = KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('HEXISTS', KEYS[7], '~token') == 1 then
  return 0
end
local s = 3 + 4 * n
if n == 1 then
  -- one job (an enqueue from application code): no tables to build
  local id = ARGV[4]
  if redis.call('HEXISTS', jobs, id) == 1 then
    return 0
  end
  redis.call('HSET', jobs, id, ARGV[5], ARGV[6], ARGV[7])
  -- scores as text: a Lua number is formatted with snprintf on its way to Redis (~2,000
  -- instructions each)
  redis.call('ZADD', KEYS[2], '0', id)
  redis.call('ZADD', KEYS[3], ARGV[8], id)
else
  local ids, zids, zavail = {}, {}, {}
  for i = 1, n do
    local id = ARGV[4 * i]
    ids[i] = id
    zids[2 * i - 1], zids[2 * i] = '0', id
    zavail[2 * i - 1], zavail[2 * i] = ARGV[s + i], id
  end
  local f = redis.call('HMGET', jobs, unpack(ids))
  for i = 1, n do
    if f[i] then
      return 0
    end
  end
  redis.call('HSET', jobs, unpack(ARGV, 4, s))
  redis.call('ZADD', KEYS[2], unpack(zids))
  redis.call('ZADD', KEYS[3], unpack(zavail))
end
local minute = ARGV[1]
for x = s + n + 1, s + n + 2 * k, 2 do
  local b, c = ARGV[x], ARGV[x + 1]
  if redis.call('HINCRBY', KEYS[4], b .. ':enqueued', c) == tonumber(c) then
    redis.call('ZADD', KEYS[5], minute, b)
  end
end
wake(KEYS[6], n)
return 1
