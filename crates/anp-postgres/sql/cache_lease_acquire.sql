-- cache_lease_acquire: takes the lease unless a live one ($6 = now) is held.
INSERT INTO cache_leases (ns, generation, key, token, expires_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (ns, generation, key) DO UPDATE SET
    token = excluded.token, expires_at = excluded.expires_at
WHERE cache_leases.expires_at <= $6
