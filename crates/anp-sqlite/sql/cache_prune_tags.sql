-- cache_prune: up to ?2 tag versions expired at ?1 (ms).
DELETE FROM cache_tags WHERE (ns, tag) IN (
    SELECT ns, tag FROM cache_tags WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)
