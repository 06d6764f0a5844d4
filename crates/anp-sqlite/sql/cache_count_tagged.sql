-- cache_count_tagged: the next ?5 live entries of (?1 ns, ?2 generation) after key ?3 at ?4
-- (ms), in key order: each key and its envelope. A walk of cache_entries_key, a page a call.
SELECT key, value FROM cache_entries
WHERE ns = ?1 AND generation = ?2 AND key > ?3 AND expires_at > ?4
ORDER BY key LIMIT ?5
