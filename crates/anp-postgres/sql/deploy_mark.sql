-- deploy_mark.
INSERT INTO deploys (at, version, owner, rollback, note) VALUES ($1, $2, $3, $4, $5)
