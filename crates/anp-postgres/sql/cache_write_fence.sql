-- cache_write: a fenced write ends its live lease ($4 = token, $5 = now).
DELETE FROM cache_leases
WHERE ns = $1 AND generation = $2 AND key = $3 AND token = $4 AND expires_at > $5
