-- job_delete: a job that is not running.
DELETE FROM jobs WHERE id = $1 AND state <> 'running'
