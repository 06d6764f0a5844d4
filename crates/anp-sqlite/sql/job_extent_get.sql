-- job numbers (src/seq.rs): queue ?1's current extent (migration 0008).
SELECT first, last FROM job_extents WHERE queue = ?1
