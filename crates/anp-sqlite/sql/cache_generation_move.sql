-- cache_generation_move: namespace ?1 moves to generation ?2 with history ?3 (JSON) and highest
-- generation ?4.
UPDATE cache_namespaces SET generation = ?2, history = ?3, max_generation = ?4 WHERE ns = ?1
