-- process_list: forgets processes not seen since $1.
DELETE FROM processes WHERE last_seen < $1
