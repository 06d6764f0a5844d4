-- cache_publish: one change on the invalidation feed.
INSERT INTO cache_changes (at, origin, change) VALUES ($1, $2, $3)
