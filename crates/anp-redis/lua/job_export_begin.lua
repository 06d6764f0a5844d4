-- job_export_begin: opens a point-in-time export of one queue. From now until
-- job_export_end, every script that changes a job of the queue first copies the job as it
-- was into the export hash (copy-on-write, lib.lua), so job_export_page can read the queue
-- as of this instant in short steps while workers keep working.
--
-- KEYS[1] anp:{<queue>}:export  hash: `~token` and the pre-images of changed jobs
-- ARGV[1] token naming this export (random)
-- ARGV[2] ttl, ms: the export hash expires when not touched for this long (an exporter that
--         dies does not leave copy-on-write running)
-- Returns: 1.
-- Errors:  ANP_CONFLICT <token or finishing> when another export of this queue is open or
--          its pre-images have not been read and deleted yet.

local export = KEYS[1]
if redis.call('EXISTS', export) == 1 then
  return redis.error_reply('ANP_CONFLICT ' .. (redis.call('HGET', export, '~token') or 'finishing'))
end
redis.call('HSET', export, '~token', ARGV[1])
redis.call('PEXPIRE', export, ARGV[2])
return 1
