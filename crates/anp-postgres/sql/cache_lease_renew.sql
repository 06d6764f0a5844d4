-- cache_lease_renew: extends a live lease held with $4.
UPDATE cache_leases SET expires_at = $5
WHERE ns = $1 AND generation = $2 AND key = $3 AND token = $4 AND expires_at > $6
