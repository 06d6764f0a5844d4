-- audit_list: the newest $1 entries, newest first.
SELECT at, who, action, target, result FROM audit ORDER BY id DESC LIMIT $1
