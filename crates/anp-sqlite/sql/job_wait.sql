-- job_wait: whether queue ?1 has an available job and is not paused.
-- Differs by necessity from Redis: SQLite has no pub/sub, so waiters are woken by this store's
-- commits and by a watcher on the -wal file, then run this check (under BEGIN IMMEDIATE, so a
-- commit whose file event came before the waiter registered is visible).
SELECT EXISTS (SELECT 1 FROM jobs WHERE queue = ?1 AND state = 'available')
   AND NOT EXISTS (SELECT 1 FROM queues WHERE name = ?1 AND paused = 1)
