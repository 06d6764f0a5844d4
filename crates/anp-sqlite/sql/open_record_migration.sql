-- Opening: records one applied migration (same transaction as the migration).
INSERT INTO anp_schema (version, name, applied_at) VALUES (?1, ?2, ?3)
