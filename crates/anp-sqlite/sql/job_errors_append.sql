-- job_ack_many (retry, dead, cancel) and job_rescue_expired, after their UPDATE applied: appends
-- the entry ?2 (JSON) to the error history of job ?1, in job_errors (migration 0006), so the
-- jobs row and the args are not rewritten.
INSERT INTO job_errors (job, errors)
SELECT seq, json_array(json(?2)) FROM jobs WHERE id = ?1
ON CONFLICT (job) DO UPDATE SET errors = json_insert(errors, '$[#]', json(?2))
