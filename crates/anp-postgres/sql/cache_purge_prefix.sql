-- cache_purge_prefix: up to $5 live keys starting with $3.
DELETE FROM cache_entries WHERE (ns, generation, key) IN (
    SELECT ns, generation, key FROM cache_entries
    WHERE ns = $1 AND generation = $2 AND starts_with(key, $3) AND expires_at > $4
    ORDER BY key LIMIT $5)
