-- cache_generation_move: stores the moved namespace.
UPDATE cache_namespaces SET generation = $2, history = $3, max_generation = $4 WHERE ns = $1
