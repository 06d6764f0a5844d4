-- job numbers (src/seq.rs): queue ?1's current extent (migration 0008) and the highest job
-- number at or below its end (one step down the rowid b-tree; below `first` when the extent
-- holds no job).
SELECT first, last, (SELECT seq FROM jobs WHERE seq <= job_extents.last ORDER BY seq DESC LIMIT 1)
FROM job_extents WHERE queue = ?1
