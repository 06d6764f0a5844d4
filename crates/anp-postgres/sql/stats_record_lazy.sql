-- job_ack_many's stats transaction: commit without waiting for the WAL flush (a crash may lose
-- the last fraction of a second of stats, never a job's state).
SET LOCAL synchronous_commit = off
