-- stats_record: add a delta to a bucket (?7/?8: the merged histograms).
INSERT INTO stats (minute, queue, kind, enqueued, completed, failed, dead, run, wait)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8)
ON CONFLICT (minute, queue, kind) DO UPDATE SET
    enqueued = enqueued + excluded.enqueued, completed = completed + excluded.completed,
    failed = failed + excluded.failed, run = excluded.run, wait = excluded.wait
