-- cache_generation_move: the namespace, locked.
SELECT ns, deploy_sensitive, generation, history, max_generation FROM cache_namespaces
WHERE ns = $1 FOR UPDATE
