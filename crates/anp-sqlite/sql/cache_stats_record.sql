-- cache_stats_record: one flush (?3 JSON) of namespace ?2 at ?1 (ms).
INSERT INTO cache_stats (at, ns, record) VALUES (?1, ?2, ?3)
