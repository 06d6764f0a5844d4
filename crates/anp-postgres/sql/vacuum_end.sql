-- vacuum after a burst: releases the lock vacuum_begin.sql took.
SELECT pg_advisory_unlock(4723819472003)
