-- cache_read: a live entry.
SELECT value FROM cache_entries
WHERE ns = $1 AND generation = $2 AND key = $3 AND expires_at > $4
