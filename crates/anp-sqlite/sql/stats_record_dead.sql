-- stats_record: add dead jobs to a bucket.
UPDATE stats SET dead = dead + ?4 WHERE minute = ?1 AND queue = ?2 AND kind = ?3
