-- cache_lease_acquire: (?1 ns, ?2 generation, ?3 key) leased to token ?4 until ?5 (ms), unless a
-- lease live at ?6 exists (an expired one is replaced). One row changed: taken.
INSERT INTO cache_leases (ns, generation, key, token, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (ns, generation, key) DO UPDATE SET
    token = excluded.token, expires_at = excluded.expires_at
WHERE cache_leases.expires_at <= ?6
