-- cache_delete: one key; returns whether it was live.
DELETE FROM cache_entries WHERE ns = $1 AND generation = $2 AND key = $3
RETURNING expires_at > $4
