-- cache_generation_move: namespace ?1 before the move.
SELECT ns, deploy_sensitive, generation, history, max_generation FROM cache_namespaces
WHERE ns = ?1
