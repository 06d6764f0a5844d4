-- cache_purge_prefix with an empty prefix: up to ?4 live keys of (?1 ns, ?2 generation).
DELETE FROM cache_entries WHERE rowid IN (
    SELECT rowid FROM cache_entries
    WHERE ns = ?1 AND generation = ?2 AND expires_at > ?3
    ORDER BY key LIMIT ?4)
