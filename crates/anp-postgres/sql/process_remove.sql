-- process_remove.
DELETE FROM processes WHERE id = $1
