-- stats_record: retention.
DELETE FROM stats WHERE minute < $1
