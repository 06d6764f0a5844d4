-- job_cancel, before its UPDATE and under the same condition (a job that is not final): appends
-- the operator's cancellation (?2: the instant as RFC 3339) to the error history of job ?1.
INSERT INTO job_errors (job, errors)
SELECT seq, json_array(json_object('attempt', attempt, 'at', ?2, 'message', 'cancelled by operator',
                                   'retry_safe', json('false')))
FROM jobs WHERE id = ?1 AND finalized_at IS NULL
ON CONFLICT (job) DO UPDATE SET errors = json_insert(errors, '$[#]', excluded.errors -> '$[0]')
