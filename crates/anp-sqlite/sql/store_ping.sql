-- store_ping: one round trip that also reports the schema version.
SELECT coalesce(max(version), 0) FROM anp_schema
