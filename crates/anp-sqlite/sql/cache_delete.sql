-- cache_delete: deletes one key, live or expired; returns whether it was live at ?4 (ms).
DELETE FROM cache_entries WHERE ns = ?1 AND generation = ?2 AND key = ?3
RETURNING expires_at > ?4
