-- cache_purge_prefix: up to ?6 live keys of (?1 ns, ?2 generation) in [?3, ?4): ?3 is the
-- prefix, ?4 (bytes) the smallest string above every string that starts with it. A range of
-- cache_entries_key, compared byte by byte: no LIKE or GLOB, whose % _ * ? [ would be wildcards.
DELETE FROM cache_entries WHERE rowid IN (
    SELECT rowid FROM cache_entries
    WHERE ns = ?1 AND generation = ?2 AND key >= ?3 AND key < CAST(?4 AS TEXT)
      AND expires_at > ?5
    ORDER BY key LIMIT ?6)
