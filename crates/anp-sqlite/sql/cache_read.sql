-- cache_read: the live entry of (?1 ns, ?2 generation, ?3 key) at ?4 (ms).
SELECT value FROM cache_entries
WHERE ns = ?1 AND generation = ?2 AND key = ?3 AND expires_at > ?4
