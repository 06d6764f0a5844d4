-- cache_usage: live entries and bytes of one (ns, generation).
SELECT count(*), coalesce(sum(octet_length(key) + octet_length(value)), 0)::bigint FROM cache_entries
WHERE ns = $1 AND generation = $2 AND expires_at > $3
