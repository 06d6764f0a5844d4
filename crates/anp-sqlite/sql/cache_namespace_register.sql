-- cache_namespace_register: records namespace ?1 (generation 0, no history) or updates its
-- deploy_sensitive flag to ?2; returns the row as stored.
INSERT INTO cache_namespaces (ns, deploy_sensitive, generation, history, max_generation)
VALUES (?1, ?2, 0, '[]', 0)
ON CONFLICT (ns) DO UPDATE SET deploy_sensitive = excluded.deploy_sensitive
RETURNING ns, deploy_sensitive, generation, history
