-- Opening: the schema version of an alphanode database.
SELECT coalesce(max(version), 0) FROM anp_schema
