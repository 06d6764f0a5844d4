-- cache_publish: appends a change (?3 JSON) from process ?2 at ?1 (ms) to the feed.
INSERT INTO cache_changes (at, origin, change) VALUES (?1, ?2, ?3)
