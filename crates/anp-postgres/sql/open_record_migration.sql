-- Opening: records an applied migration, in its transaction.
INSERT INTO anp_schema (version, name, applied_at) VALUES ($1, $2, $3)
