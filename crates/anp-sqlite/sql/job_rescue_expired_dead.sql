-- job_rescue_expired, no attempts left: → dead at ?3, the lost attempt ?4 (JSON) appended.
UPDATE jobs
SET state = 'dead', finalized_at = ?3, errors = json_insert(errors, '$[#]', json(?4)),
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
