-- job_ack_many, Cancel: → cancelled at ?3; appends the reason ?4 (JSON).
UPDATE jobs
SET state = 'cancelled', finalized_at = ?3, errors = json_insert(errors, '$[#]', json(?4)),
    lease_owner = NULL, lease_expires_at = NULL, lease_token = NULL
WHERE id = ?1 AND state = 'running' AND lease_token = ?2
