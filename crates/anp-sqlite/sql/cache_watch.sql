-- cache_watch: up to ?2 changes after seq ?1, in order (a range of the rowid).
SELECT seq, origin, change FROM cache_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2
