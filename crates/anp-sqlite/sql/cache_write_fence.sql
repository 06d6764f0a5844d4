-- cache_write with a lease: ends the key's lease if token ?4 holds it live at ?5 (ms); one row
-- deleted is what lets the write apply.
DELETE FROM cache_leases
WHERE ns = ?1 AND generation = ?2 AND key = ?3 AND token = ?4 AND expires_at > ?5
