-- process_remove: a process that stopped cleanly.
DELETE FROM processes WHERE id = ?1
