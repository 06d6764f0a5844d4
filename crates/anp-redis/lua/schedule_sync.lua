-- schedule_sync: registers one schedule definition, or updates a changed one. A new schedule
-- starts at now (last_tick = now: no tick before registration fires) unless it carries the
-- state of the same schedule moved from another queue; an existing one gets the new
-- definition and keeps its pause flag, last tick and last job.
--
-- KEYS[1] anp:{<queue>}:schedule:<name>  hash: the schedule
-- ARGV[1] the definition (JSON)
-- ARGV[2] now, µs
-- ARGV[3] skip_if_running (1 or 0)
-- ARGV[4] catch_up policy (skip | latest | all)
-- ARGV[5] the queue name
-- ARGV[6] 1 when the state below is carried over from another queue, else ''
-- ARGV[7] paused (1 or 0), ARGV[8] last_tick (µs or ''), ARGV[9] last_job (id or ''),
-- ARGV[10] created_at (µs)
-- Returns: 1 created, 0 already there (updated if the definition changed).

local sk = KEYS[1]
local def, now = ARGV[1], ARGV[2]
if redis.call('EXISTS', sk) == 1 then
  if redis.call('HGET', sk, 'def') ~= def then
    redis.call('HSET', sk, 'def', def, 'skip_if_running', ARGV[3], 'catch_up', ARGV[4],
      'queue', ARGV[5], 'updated_at', now)
  end
  return 0
end
if ARGV[6] == '1' then
  redis.call('HSET', sk, 'def', def, 'skip_if_running', ARGV[3], 'catch_up', ARGV[4],
    'queue', ARGV[5], 'paused', ARGV[7], 'created_at', ARGV[10], 'updated_at', now)
  if ARGV[8] ~= '' then
    redis.call('HSET', sk, 'last_tick', ARGV[8])
  end
  if ARGV[9] ~= '' then
    redis.call('HSET', sk, 'last_job', ARGV[9])
  end
else
  redis.call('HSET', sk, 'def', def, 'skip_if_running', ARGV[3], 'catch_up', ARGV[4],
    'queue', ARGV[5], 'paused', '0', 'last_tick', now, 'created_at', now, 'updated_at', now)
end
return 1
