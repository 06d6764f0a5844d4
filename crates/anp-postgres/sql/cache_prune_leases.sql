-- cache_prune: expired leases.
DELETE FROM cache_leases WHERE (ns, generation, key) IN (
    SELECT ns, generation, key FROM cache_leases WHERE expires_at <= $1
    ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
