-- analyze during a burst: releases the lock analyze_begin.sql took.
SELECT pg_advisory_unlock(4723819472004)
