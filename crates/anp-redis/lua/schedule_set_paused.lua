-- schedule_set_paused: pauses or resumes one schedule.
--
-- KEYS[1] anp:{<queue>}:schedule:<name>  hash: the schedule
-- ARGV[1] 1 to pause, 0 to resume
-- ARGV[2] now, µs (becomes updated_at)
-- Returns: 1.
-- Errors:  ANP_NOT_FOUND when the schedule does not exist.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('ANP_NOT_FOUND schedule')
end
redis.call('HSET', KEYS[1], 'paused', ARGV[1], 'updated_at', ARGV[2])
return 1
