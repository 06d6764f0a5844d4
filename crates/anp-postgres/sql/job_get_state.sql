-- The state of one job: explains why a conditional write matched nothing.
SELECT state FROM jobs WHERE id = $1
