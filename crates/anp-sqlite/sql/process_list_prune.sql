-- process_list: processes not seen since ?1 (micros) are gone.
DELETE FROM processes WHERE last_seen < ?1
