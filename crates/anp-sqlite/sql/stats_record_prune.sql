-- stats_record: retention; buckets before ?1 (micros) go.
DELETE FROM stats WHERE minute < ?1
