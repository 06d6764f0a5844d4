-- cache_read: the namespace's generation.
SELECT generation FROM cache_namespaces WHERE ns = $1
