-- deploy_list: newest ?1 markers, newest first.
SELECT at, version, owner, rollback, note FROM deploys ORDER BY at DESC, id DESC LIMIT ?1
