-- job numbers (src/seq.rs): queue ?1's new extent, numbers ?2 to ?3.
INSERT INTO job_extents (queue, first, last) VALUES (?1, ?2, ?3)
ON CONFLICT (queue) DO UPDATE SET first = excluded.first, last = excluded.last
