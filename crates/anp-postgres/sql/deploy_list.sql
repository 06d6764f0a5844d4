-- deploy_list: the newest $1 markers.
SELECT at, version, owner, rollback, note FROM deploys ORDER BY at DESC, id DESC LIMIT $1
