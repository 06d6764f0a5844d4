-- Every transaction that makes jobs available: wakes job_wait in every process (delivered at
-- commit; several in one transaction are delivered once).
SELECT pg_notify('anp_jobs', '')
