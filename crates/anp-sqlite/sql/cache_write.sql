-- cache_write: stores (?1 ns, ?2 generation, ?3 key) = ?4 until ?5 (ms), replacing any row.
INSERT INTO cache_entries (ns, generation, key, value, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (ns, generation, key) DO UPDATE SET
    value = excluded.value, expires_at = excluded.expires_at
