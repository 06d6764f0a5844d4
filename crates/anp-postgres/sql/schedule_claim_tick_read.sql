-- schedule_claim_tick: the schedule, locked (claimers of one schedule queue here), and whether
-- its last job is unfinished.
SELECT s.def, s.last_tick, s.last_job, (j.finalized_at IS NULL AND j.id IS NOT NULL)
FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job
WHERE s.name = $1
FOR UPDATE OF s
