-- process_heartbeat: registers or refreshes a process.
INSERT INTO processes (id, role, host, pid, version, queues, kinds, started_at, last_seen)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (id) DO UPDATE SET
    last_seen = excluded.last_seen, queues = excluded.queues, kinds = excluded.kinds
