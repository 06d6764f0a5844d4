-- stats_record: the bucket's histograms, merged with the delta in Rust.
SELECT run, wait FROM stats WHERE minute = ?1 AND queue = ?2 AND kind = ?3
