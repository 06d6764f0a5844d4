-- job_get: one job as it is now (its record merged with its lease, lib.lua LEASES). Read only.
--
-- KEYS[1] anp:{<queue>}:jobs    hash: job records, args, errors, unique keys
-- KEYS[2] anp:{<queue>}:leases  hash: running jobs' leases (lib.lua, LEASES)
-- ARGV[1] id
-- Returns: {id, record, args, errors, unique key}; the record is nil when the queue holds no
--          such job.
-- Errors:  ANP_CORRUPT when a record or lease cannot be read.

leases_open(KEYS[2])
return job_reply(KEYS[1], ARGV[1])
