-- cache_read, cache_tag_versions: the live version of tag ?2 in namespace ?1 at ?3 (ms); no row
-- is version 0.
SELECT version FROM cache_tags WHERE ns = ?1 AND tag = ?2 AND expires_at > ?3
