-- store_ping and opening: the schema version.
SELECT coalesce(max(version), 0) FROM anp_schema
