-- process_list: live processes.
SELECT id, role, host, pid, version, queues, kinds, started_at, last_seen FROM processes ORDER BY role, id
