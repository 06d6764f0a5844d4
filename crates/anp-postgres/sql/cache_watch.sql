-- cache_watch: the changes after the cursor $1, at most $2.
SELECT seq, origin, change FROM cache_changes WHERE seq > $1 ORDER BY seq LIMIT $2
