-- Opening: one migrating process at a time per database (released at commit).
SELECT pg_advisory_xact_lock(4723819472001)
