-- cache_lease_release: ends the lease if token ?4 holds it.
DELETE FROM cache_leases WHERE ns = ?1 AND generation = ?2 AND key = ?3 AND token = ?4
