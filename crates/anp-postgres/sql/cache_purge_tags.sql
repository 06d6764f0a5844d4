-- cache_purge_tags: sets a tag's version, kept until $4.
INSERT INTO cache_tags (ns, tag, version, expires_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (ns, tag) DO UPDATE SET version = excluded.version, expires_at = excluded.expires_at
