-- audit_trim: keeps the newest $1 entries (by id: insertion order).
DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - $1
