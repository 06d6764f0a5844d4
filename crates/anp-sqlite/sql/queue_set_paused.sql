-- queue_set_paused: pauses (?2 = 1) or resumes (?2 = 0) queue ?1 at ?3.
INSERT INTO queues (name, paused, updated_at) VALUES (?1, ?2, ?3)
ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = excluded.updated_at
