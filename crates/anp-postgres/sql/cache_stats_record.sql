-- cache_stats_record: one flush.
INSERT INTO cache_stats (at, ns, record) VALUES ($1, $2, $3)
