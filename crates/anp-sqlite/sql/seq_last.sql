-- job numbers (src/seq.rs): the highest job number at or below ?1 (the end of a queue's extent),
-- one step down the rowid b-tree.
SELECT seq FROM jobs WHERE seq <= ?1 ORDER BY seq DESC LIMIT 1
