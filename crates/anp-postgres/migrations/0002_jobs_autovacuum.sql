-- Migration 0002: autovacuum for the jobs table's churn. Applied in one transaction with its row
-- in anp_schema (migrate.rs). Why (measured, BENCHMARKS.md "PostgreSQL", docs/postgres.md):
--
-- Every transition of a job (enqueue, fetch, ack, prune) writes a new row version; none can be a
-- HOT update, because `state` is in every partial index's predicate and in jobs_queue_state. So
-- each fetched job leaves a dead entry at the head of jobs_fetch, which every later fetch steps
-- over until vacuum removes it: 85,000 processed jobs cost the fetch 800 index pages (1.8 ms
-- instead of 0.03). With the defaults (vacuum after 20 % of the table is dead, throttled to
-- cost_limit 200 per 2 ms) a 1,000,000-job backlog piled up 3.5 million dead tuples and the rate
-- fell to 300 jobs/s.
--
-- So: vacuum after a fixed number of dead tuples (10,000), not a fraction of the table, and
-- unthrottled (cost_delay 0): a vacuum that cannot keep up with the churn is worse than one that
-- uses I/O. Inserted-only backlogs are vacuumed too (after 50,000 inserts; PostgreSQL 13+), which
-- sets the visibility map for index-only counts. How often autovacuum can look at the table at
-- all is the server's autovacuum_naptime (default 1 min; docs/postgres.md).
--
-- fillfactor is left at 100: with no HOT update possible, free space per page would only make
-- the table bigger.
ALTER TABLE jobs SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 50000,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 50000
);
