-- cache_prune: expired entries, oldest expiry first, at most $2.
DELETE FROM cache_entries WHERE (ns, generation, key) IN (
    SELECT ns, generation, key FROM cache_entries WHERE expires_at <= $1
    ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
