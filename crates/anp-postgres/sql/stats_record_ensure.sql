-- stats_record: makes sure the bucket's row exists, so it can be locked.
INSERT INTO stats (minute, queue, kind) VALUES ($1, $2, $3)
ON CONFLICT (minute, queue, kind) DO NOTHING
