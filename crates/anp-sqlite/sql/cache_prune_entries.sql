-- cache_prune: up to ?2 entries expired at ?1 (ms), oldest expiry first.
DELETE FROM cache_entries WHERE rowid IN (
    SELECT rowid FROM cache_entries WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)
