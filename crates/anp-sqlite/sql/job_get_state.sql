-- The state of one job (to explain why a conditional write matched nothing).
SELECT state FROM jobs WHERE id = ?1
