-- cache_purge_tags: tag ?2 of namespace ?1 is version ?3 until ?4 (ms).
INSERT INTO cache_tags (ns, tag, version, expires_at) VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (ns, tag) DO UPDATE SET version = excluded.version, expires_at = excluded.expires_at
