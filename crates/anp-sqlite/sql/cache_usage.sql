-- cache_usage: live entries of (?1 ns, ?2 generation) at ?3 (ms) and their bytes (key and value).
SELECT count(*), coalesce(sum(octet_length(key) + length(value)), 0) FROM cache_entries
WHERE ns = ?1 AND generation = ?2 AND expires_at > ?3
