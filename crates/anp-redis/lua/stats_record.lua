-- stats_record: adds stats deltas to one queue's per-minute buckets, then (optionally) deletes
-- the buckets older than a cutoff.
--
-- KEYS[1] anp:{<queue>}:stats         hash: per-minute stats counters
-- KEYS[2] anp:{<queue>}:stat_minutes  zset: stats buckets (`<minute_us>:<kind>`) by minute
-- ARGV[1] prune before, µs ('' for no pruning): buckets with an earlier minute are deleted
-- ARGV[2] n, the number of increments; then 4 ARGV per increment:
--         minute (µs), kind, counter (enqueued, completed, failed, dead, run:<bucket>,
--         run_sum_us, wait:<bucket>, wait_sum_us), amount
-- Returns: the number of buckets deleted.

local stats, minutes = KEYS[1], KEYS[2]
local n = tonumber(ARGV[2])
for i = 0, n - 1 do
  local b = 3 + i * 4
  stats_incr(stats, minutes, ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3])
end
local pruned = 0
if ARGV[1] ~= '' then
  local old = redis.call('ZRANGEBYSCORE', minutes, '-inf', '(' .. ARGV[1])
  for _, b in ipairs(old) do
    redis.call('HDEL', stats, unpack(stats_fields(b)))
    redis.call('ZREM', minutes, b)
    pruned = pruned + 1
  end
end
return pruned
