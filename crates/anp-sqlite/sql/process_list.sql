-- process_list: live processes, by role then id.
SELECT id, role, host, pid, version, queues, started_at, last_seen FROM processes ORDER BY role, id
