-- cache_read: the current generation of namespace ?1; no row (unregistered) is generation 0.
SELECT generation FROM cache_namespaces WHERE ns = ?1
