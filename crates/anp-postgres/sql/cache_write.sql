-- cache_write: stores an entry.
INSERT INTO cache_entries (ns, generation, key, value, expires_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (ns, generation, key) DO UPDATE SET
    value = excluded.value, expires_at = excluded.expires_at
