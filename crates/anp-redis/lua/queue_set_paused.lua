-- queue_set_paused: pauses or resumes fetching from one queue, for every worker. Resuming wakes
-- blocked job_wait calls so idle workers fetch at once.
--
-- KEYS[1] anp:{<queue>}:pause   string: "1" paused, "0" resumed (present once either happened)
-- KEYS[2] anp:{<queue>}:wake    list: wake tokens
-- ARGV[1] 1 to pause, 0 to resume
-- Returns: 1.

if ARGV[1] == '1' then
  redis.call('SET', KEYS[1], '1')
else
  redis.call('SET', KEYS[1], '0')
  wake(KEYS[2], WAKE_MAX)
end
return 1
