-- stats_record: adds the deltas and stores the merged histograms.
UPDATE stats SET enqueued = enqueued + $4, completed = completed + $5, failed = failed + $6,
    dead = dead + $7, run = $8, wait = $9
WHERE minute = $1 AND queue = $2 AND kind = $3
