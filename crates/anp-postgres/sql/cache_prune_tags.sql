-- cache_prune: expired tag versions.
DELETE FROM cache_tags WHERE (ns, tag) IN (
    SELECT ns, tag FROM cache_tags WHERE expires_at <= $1
    ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
