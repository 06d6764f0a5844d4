-- cache_publish and cache_watch's start: publishers take this lock until they commit, so seq
-- order is commit order and a watcher reading `seq > cursor` never skips a row.
SELECT pg_advisory_xact_lock(4723819472002)
