-- job_export_end: stops the copy-on-write of an export (removes `~token`); the pre-images stay
-- for the exporter, which reads the ones of jobs its scan never saw (deleted during the export)
-- and then deletes the export hash.
--
-- KEYS[1] anp:{<queue>}:export  hash: `~token` and the pre-images of changed jobs
-- ARGV[1] the export's token
-- ARGV[2] ttl, ms (see job_export_begin)
-- Returns: 1.
-- Errors:  ANP_EXPORT_LOST when the export hash expired or belongs to another export.

local export = KEYS[1]
if redis.call('HGET', export, '~token') ~= ARGV[1] then
  return redis.error_reply('ANP_EXPORT_LOST the export hash expired or was replaced')
end
redis.call('HDEL', export, '~token')
redis.call('PEXPIRE', export, ARGV[2])
return 1
