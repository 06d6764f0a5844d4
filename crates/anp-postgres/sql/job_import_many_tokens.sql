-- job_import_many: moves the lease-token sequence past $1, the highest token of the restored
-- jobs, so a fresh lease never reuses a restored one.
SELECT setval('anp_lease_tokens', $1::bigint) WHERE $1::bigint > (SELECT last_value FROM anp_lease_tokens)
