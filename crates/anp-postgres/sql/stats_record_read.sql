-- stats_record: the bucket's histograms, locked until the transaction ends (merged in Rust).
SELECT run, wait FROM stats WHERE minute = $1 AND queue = $2 AND kind = $3 FOR UPDATE
