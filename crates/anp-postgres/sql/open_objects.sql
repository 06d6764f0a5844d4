-- Opening: whether anp_schema and a table named jobs exist in the search path.
SELECT to_regclass('anp_schema') IS NOT NULL, to_regclass('jobs') IS NOT NULL
