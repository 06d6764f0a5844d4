-- job_enqueue_many: count enqueued jobs in the minute's stats bucket (same transaction).
INSERT INTO stats (minute, queue, kind, enqueued) VALUES ($1, $2, $3, $4)
ON CONFLICT (minute, queue, kind) DO UPDATE SET enqueued = stats.enqueued + excluded.enqueued
