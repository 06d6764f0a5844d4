-- cache_read, cache_tag_versions: a tag's live version.
SELECT version FROM cache_tags WHERE ns = $1 AND tag = $2 AND expires_at > $3
