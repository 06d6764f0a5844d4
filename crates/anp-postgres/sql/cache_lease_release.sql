-- cache_lease_release: only with its token.
DELETE FROM cache_leases WHERE ns = $1 AND generation = $2 AND key = $3 AND token = $4
