-- cache_namespace_register: registers a namespace (or updates its flag) and returns it.
INSERT INTO cache_namespaces (ns, deploy_sensitive, generation, history, max_generation)
VALUES ($1, $2, 0, '[]', 0)
ON CONFLICT (ns) DO UPDATE SET deploy_sensitive = excluded.deploy_sensitive
RETURNING ns, deploy_sensitive, generation, history
